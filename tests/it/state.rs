//! End-to-end tests of `check --state` in the operations a scheduled job meets: late
//! delivery, processed logs moved, gzipped or re-synced into a fresh folder, runs at
//! the same time, runs killed, the state file beside the logs. Each violation must
//! alert exactly once, whatever happens to the files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, vpce, vpce_command};

/// "Now" for every run: the day after the logs.
const NOW: &str = "2022-05-10T00:00:00Z";

/// An access log line: a GET of `bucket` from `ip` at 2022-05-09 `time`.
fn get(time: &str, ip: &str) -> String {
    format!(
        "5a2e4c8f0b1d3e6f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f secure [09/May/2022:{time} +0000] {ip} arn:aws:sts::111122223333:assumed-role/reader/i-0a REQ{} REST.GET.OBJECT k \"GET /secure/k HTTP/1.1\" 200 - 100 100 31 12 \"-\" \"aws-cli/2.7.0\"\n",
        time.replace(':', "")
    )
}

fn write(path: &Path, text: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// A state file and the command that checks a folder with it.
struct Job {
    _dir: tempfile::TempDir,
    state: PathBuf,
}

impl Job {
    fn new() -> Job {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        Job { _dir: dir, state }
    }

    fn command(&self, inputs: &[&Path]) -> Command {
        let mut cmd = vpce_command();
        cmd.env("VPCE_AUDIT_NOW", NOW)
            .args([
                "check",
                "--require-private",
                "secure",
                "--format",
                "json",
                "--state",
            ])
            .arg(&self.state)
            .args(inputs);
        cmd
    }

    /// One run: its exit status and report.
    fn run(&self, inputs: &[&Path]) -> (i32, Value) {
        let out = self.command(inputs).output().unwrap();
        let code = out.status.code().unwrap();
        assert!(code < 2, "{}", String::from_utf8_lossy(&out.stderr));
        (code, util::check_doc(&out.stdout))
    }

    /// The remote addresses of the violations a run reports.
    fn alerts(&self, inputs: &[&Path]) -> Vec<String> {
        let (_, r) = self.run(inputs);
        r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["remote_ip"].as_str().unwrap().to_string())
            .collect()
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    util::gzip(data)
}

#[test]
fn a_late_log_is_judged_whole_and_a_time_window_with_a_state_is_refused() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(
        &logs.join("2022-05-09-11-00-00-AAAA"),
        get("10:59:00", "52.0.0.1").as_bytes(),
    );
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.1"]);
    // An object S3 delivers hours late holds records older than the last run's.
    write(
        &logs.join("2022-05-09-09-00-00-LATE"),
        [get("08:59:00", "52.0.0.2"), get("08:59:30", "10.0.0.1")]
            .concat()
            .as_bytes(),
    );
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.2"]);
    assert_eq!(job.alerts(&[&logs]), Vec::<String>::new());
    // With a window, the late object's records would be filtered out and the object
    // remembered as done: refused, with the reason.
    let out = job
        .command(&[&logs])
        .args(["--since", "24h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--since/--until cannot be combined with --state"),
        "{err}"
    );
    assert!(err.contains("S3 delivers logs late"), "{err}");
}

#[test]
fn moving_and_gzipping_processed_logs_never_alerts_again() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let name = "2022-05-09-10-00-00-AAAA";
    let text = [get("10:00:00", "52.0.0.1"), get("10:01:00", "10.0.0.1")].concat();
    write(&logs.join(name), text.as_bytes());
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.1"]);
    // Archived: moved into archive/ and gzipped, the original gone.
    write(
        &logs.join(format!("archive/{name}.gz")),
        &gzip(text.as_bytes()),
    );
    fs::remove_file(logs.join(name)).unwrap();
    let (code, r) = job.run(&[&logs]);
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["violations"], 0);
    assert_eq!(r["summary"]["inputs_skipped"], 1);
    assert_eq!(
        r["buckets"][0]["total"]["violations"], 1,
        "1 alert for 1 violation"
    );
    // The next run knows it where it is now: it is not even read.
    let (_, r) = job.run(&[&logs]);
    assert_eq!(
        (
            r["summary"]["inputs"].as_u64(),
            r["summary"]["inputs_skipped"].as_u64()
        ),
        (Some(0), Some(1))
    );
}

#[test]
fn a_log_copied_over_itself_without_its_times_is_still_known() {
    // `cp` without -p over the same name: new times, same content.
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let text = get("10:00:00", "52.0.0.1");
    write(&logs.join("a"), text.as_bytes());
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let copy = dir.path().join("copy");
    fs::write(&copy, &text).unwrap();
    fs::copy(&copy, logs.join("a")).unwrap();
    let (code, r) = job.run(&[&logs]);
    assert_eq!(
        (code, r["summary"]["inputs_skipped"].as_u64()),
        (0, Some(1))
    );
    assert_eq!(r["errors"], serde_json::json!([]));
}

#[test]
fn copies_synced_into_a_fresh_folder_never_alert_again() {
    // A job in a Lambda or a container: every run syncs the log bucket into a new
    // temporary folder (new paths, new times), then checks it.
    let job = Job::new();
    let bucket: Vec<(String, String)> = (0..4)
        .map(|i| {
            (
                format!("2022-05-09-1{i}-00-00-OBJ{i}"),
                get(&format!("1{i}:00:00"), &format!("52.0.0.{i}")),
            )
        })
        .collect();
    let mut alerts = Vec::new();
    for run in 1..=4 {
        let fresh = tempfile::tempdir().unwrap();
        for (name, text) in &bucket[..run] {
            write(&fresh.path().join(name), text.as_bytes());
        }
        alerts.extend(job.alerts(&[fresh.path()]));
    }
    assert_eq!(alerts, ["52.0.0.0", "52.0.0.1", "52.0.0.2", "52.0.0.3"]);
}

#[test]
fn five_concurrent_runs_alert_every_violation_exactly_once() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    for i in 0..40 {
        let text: String = (0..8)
            .map(|j| {
                get(
                    &format!("1{}:{:02}:{:02}", i % 10, i, j),
                    &format!("52.0.{i}.{j}"),
                )
            })
            .collect();
        write(
            &logs.join(format!("2022-05-09-10-{i:02}-00-OBJ")),
            text.as_bytes(),
        );
    }
    // Each child's output is read on a thread of its own: a run that holds the lock
    // must not block on a full pipe while another is being read.
    let children: Vec<_> = (0..5)
        .map(|_| {
            let child = job
                .command(&[&logs])
                .arg("--quiet")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::spawn(move || child.wait_with_output().unwrap())
        })
        .collect();
    let mut alerts = 0;
    let mut listed = std::collections::BTreeSet::new();
    for child in children {
        let out = child.join().unwrap();
        assert!(
            out.status.code().unwrap() < 2,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r = util::check_doc(&out.stdout);
        alerts += r["summary"]["violations"].as_u64().unwrap();
        for v in r["violations"].as_array().unwrap() {
            assert!(
                listed.insert(v["request_id"].to_string()),
                "alerted twice: {v}"
            );
        }
    }
    assert_eq!(alerts, 320);
    assert_eq!(listed.len(), 320);
    let state: Value = serde_json::from_str(&fs::read_to_string(&job.state).unwrap()).unwrap();
    assert_eq!(state["runs"], 5, "no run's update is lost");
    assert_eq!(state["buckets"]["secure"]["violations"], 320);
}

#[test]
fn a_busy_state_makes_a_run_wait_then_exit_2() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs.join("a"), get("10:00:00", "52.0.0.1").as_bytes());
    // Another run holds the lock.
    let lock = fs::File::create(job.state.parent().unwrap().join(".state.json.lock")).unwrap();
    lock.lock().unwrap();
    let out = job
        .command(&[&logs])
        .args(["--lock-timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is in use by another run (waited 1 s for it)"),
        "{err}"
    );
    assert!(!job.state.exists());
    drop(lock);
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.1"]);
}

#[test]
fn a_killed_runs_temporary_files_are_removed_by_the_next() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs.join("a"), get("10:00:00", "52.0.0.1").as_bytes());
    let leftover = job.state.parent().unwrap().join(".state.json.tmpK1LLed");
    fs::write(&leftover, "{\"format\": ").unwrap();
    job.run(&[&logs]);
    assert!(!leftover.exists());
    let names: Vec<String> = fs::read_dir(job.state.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn the_state_file_beside_the_logs_is_never_read_as_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs.join("a"), get("10:00:00", "52.0.0.1").as_bytes());
    let state = logs.join("state.json");
    let run = || {
        let out = vpce()
            .env("VPCE_AUDIT_NOW", NOW)
            .args([
                "check",
                "--require-private",
                "secure",
                "--format",
                "json",
                "--state",
            ])
            .arg(&state)
            .arg(&logs)
            .output()
            .unwrap();
        util::check_doc(&out.stdout)
    };
    let first = run();
    assert_eq!(first["summary"]["inputs"], 1);
    let second = run();
    assert_eq!(second["summary"]["lines"], 0, "{second}");
    assert_eq!(second["summary"]["rejected"], 0);
    assert_eq!(second["summary"]["inputs_skipped"], 1);
}

#[cfg(unix)]
#[test]
fn names_that_differ_only_in_invalid_bytes_are_two_logs() {
    use std::os::unix::ffi::OsStrExt;
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    for (byte, ip) in [(0xfe, "52.0.0.1"), (0xff, "52.0.0.2")] {
        let bytes = [b'a', byte];
        fs::write(
            logs.join(std::ffi::OsStr::from_bytes(&bytes)),
            get("10:00:00", ip),
        )
        .unwrap();
    }
    assert_eq!(job.alerts(&[&logs]), ["52.0.0.1", "52.0.0.2"]);
    assert_eq!(job.alerts(&[&logs]), Vec::<String>::new());
}

#[test]
fn a_state_job_fails_when_its_evidence_goes_stale() {
    let job = Job::new();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs.join("a"), get("10:00:00", "10.0.0.1").as_bytes());
    assert_eq!(job.run(&[&logs]).0, 0);
    // Two days later, nothing new arrived: logging switched off looks like this.
    let out = vpce_command()
        .env("VPCE_AUDIT_NOW", "2022-05-11T12:00:00Z")
        .args([
            "check",
            "--require-private",
            "secure",
            "--format",
            "json",
            "--state",
        ])
        .arg(&job.state)
        .arg(&logs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = util::check_doc(&out.stdout);
    assert_eq!(r["findings"][0]["kind"], "stale_evidence");
    assert!(
        r["findings"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("older than --max-age 1d2h"),
        "{}",
        r["findings"][0]["reason"]
    );
}

#[test]
fn a_state_of_the_older_format_is_refused_with_the_way_out() {
    let job = Job::new();
    fs::write(
        &job.state,
        r#"{"format": "vpce-audit check state", "version": 1, "settings": {}, "runs": 7, "updated": null, "objects": {}, "buckets": {}}"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("a"),
        get("10:00:00", "52.0.0.1").as_bytes(),
    );
    let out = job.command(&[dir.path()]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("written by an older vpce-audit"), "{err}");
    assert!(err.contains("start a new state file"), "{err}");
}

/// The CloudTrail data event of the request [`get`] logs at `time` from `ip`: the same
/// request id, bucket and requester.
fn data_event(time: &str, ip: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/reader/i-0a"},
        "eventTime": format!("2022-05-09T{time}Z"), "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject", "awsRegion": "ap-northeast-2", "sourceIPAddress": ip,
        "requestParameters": {"bucketName": "secure", "key": "k"},
        "requestID": format!("REQ{}", time.replace(':', "")),
        "eventType": "AwsApiCall", "eventCategory": "Data"
    })
    .to_string()
        + "\n"
}

#[test]
fn a_state_judges_one_kind_of_log_so_a_request_in_both_never_alerts_twice() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let trail = dir.path().join("trail");
    write(
        &logs.join("2022-05-09-11-00-00-AAAA"),
        get("10:59:00", "52.0.0.1").as_bytes(),
    );
    write(
        &trail.join("export.ndjson"),
        data_event("10:59:00", "52.0.0.1").as_bytes(),
    );
    // A state of access logs alerts once; the same request in CloudTrail is refused
    // (exit 2), and the state is left as it was.
    let logs_job = Job::new();
    assert_eq!(logs_job.alerts(&[&logs]), ["52.0.0.1"]);
    let state: Value = serde_json::from_slice(&fs::read(&logs_job.state).unwrap()).unwrap();
    assert_eq!(state["evidence"], "access-logs");
    let before = fs::read(&logs_job.state).unwrap();
    let out = logs_job.command(&[&trail]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "export.ndjson: holds CloudTrail, but this state file judges S3 server access logs"
        ),
        "{err}"
    );
    assert_eq!(fs::read(&logs_job.state).unwrap(), before);
    // A state of CloudTrail judges the event once.
    let trail_job = Job::new();
    assert_eq!(trail_job.alerts(&[&trail]), ["52.0.0.1"]);
    assert_eq!(trail_job.alerts(&[&trail]), Vec::<String>::new());
    let state: Value = serde_json::from_slice(&fs::read(&trail_job.state).unwrap()).unwrap();
    assert_eq!(state["evidence"], "cloudtrail");
    // Both kinds in the first run of a new state: refused, and no state is written.
    let mixed = Job::new();
    let out = mixed.command(&[&logs, &trail]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!mixed.state.exists());
}
