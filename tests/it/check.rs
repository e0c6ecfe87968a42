//! End-to-end tests of `vpce-audit check`: the real binary on real-shaped logs.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::{self, check_json, vpce};

const ROLE: &str = "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-0a1b2c3d4e5f67890";

/// One access log line in AWS's format.
fn line(
    time: &str,
    bucket: &str,
    ip: &str,
    requester: &str,
    op: &str,
    key: &str,
    status: u16,
) -> String {
    format!(
        "5a2e4c8f0b1d3e6f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f {bucket} [09/May/2022:{time} +0000] {ip} {requester} A4C123B1612DD272 {op} {key} \"GET /{bucket}/{key} HTTP/1.1\" {status} - 100 100 31 12 \"-\" \"aws-cli/2.7.0\" - hostid= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader {bucket}.s3.ap-northeast-2.amazonaws.com TLSv1.3 - -\n"
    )
}

fn get(time: &str, bucket: &str, ip: &str, status: u16) -> String {
    line(
        time,
        bucket,
        ip,
        ROLE,
        "REST.GET.OBJECT",
        "exports/part-0000.parquet",
        status,
    )
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(path, text).unwrap();
}

#[test]
fn the_blog_post_logs_fail_with_violations_and_blocked_attempts_apart() {
    let (code, r) = check_json(&["--require-private", "shared-data-prod", "testdata/logs"]);
    assert_eq!(code, 1);
    let s = &r["summary"];
    assert_eq!(s["result"], "fail");
    assert_eq!(s["violations"], 5);
    assert_eq!(s["blocked"], 3);
    let v = r["violations"].as_array().unwrap();
    assert_eq!(v.len(), 5);
    assert_eq!(v[0]["time"], "2022-05-09T10:32:05Z");
    assert_eq!(v[0]["remote_ip"], "52.79.54.241");
    assert_eq!(v[0]["requester"], ROLE);
    assert_eq!(v[0]["operation"], "REST.GET.OBJECT");
    assert_eq!(v[0]["status"], 200);
    assert_eq!(
        v[0]["source"],
        "testdata/logs/2022-05-09-10-56-02-2B8D4F6A0C1E3957"
    );
    assert_eq!(v[0]["line"], 1);
    let b = &r["buckets"][0];
    assert_eq!(b["bucket"], "shared-data-prod");
    assert_eq!(b["total"]["violations"], 5);
    assert_eq!(b["total"]["blocked"], 3);
    assert_eq!(b["total"]["first_violation"], "2022-05-09T10:32:05Z");
    assert_eq!(b["total"]["last_violation"], "2022-05-09T10:55:01Z");
    // team-reports has no rule: not checked, not listed.
    assert_eq!(r["buckets"].as_array().unwrap().len(), 1);
}

#[test]
fn exit_0_when_only_the_endpoint_and_s3_itself_were_used() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            get("10:00:00", "secure", "10.0.1.5", 200),
            line(
                "10:01:00",
                "secure",
                "-",
                "AmazonS3",
                "S3.EXPIRE.OBJECT",
                "old",
                200,
            ),
            get("10:02:00", "elsewhere", "52.1.2.3", 200),
        ]
        .concat(),
    );
    let (code, r) = check_json(&["--require-private", "secure", log.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["result"], "pass");
    assert_eq!(r["violations"], Value::Array(vec![]));
    assert_eq!(r["buckets"][0]["total"]["internal"], 1);

    // Internal traffic can be forbidden.
    let (code, r) = check_json(&[
        "--require-private",
        "secure",
        "--forbid-internal",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["violations"][0]["class"], "internal");
    assert_eq!(r["violations"][0]["remote_ip"], Value::Null);

    // The table says PASS.
    vpce()
        .args([
            "check",
            "--require-private",
            "secure",
            log.to_str().unwrap(),
        ])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("check: PASS"));
}

#[test]
fn blocked_attempts_are_not_violations_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            get("10:00:00", "secure", "52.79.54.241", 403),
            get("10:01:00", "secure", "52.79.54.241", 403),
        ]
        .concat(),
    );
    let path = log.to_str().unwrap();
    let (code, r) = check_json(&["--require-private", "secure", path]);
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["blocked"], 2);
    assert_eq!(r["summary"]["violations"], 0);
    let (code, r) = check_json(&["--require-private", "secure", "--count-blocked", path]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["violations"], 2);
    assert_eq!(r["violations"][1]["status"], 403);
}

#[test]
fn bucket_patterns_match_and_a_rule_that_matches_nothing_is_noted() {
    let (code, r) = check_json(&[
        "--require-private",
        "shared-*",
        "--require-private",
        "team-reprots",
        "testdata/logs",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["rules"][0]["bucket"], "shared-*");
    assert_eq!(r["rules"][0]["requests"], 20);
    assert_eq!(r["rules"][1]["requests"], 0);
    vpce()
        .args([
            "check",
            "--require-private",
            "team-reprots",
            "testdata/logs",
        ])
        .assert()
        .code(0)
        .stdout(predicates::str::contains(
            "rule team-reprots matched no requests",
        ));
}

#[test]
fn every_exception_type_from_flags() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            get("10:00:00", "secure", "203.0.113.20", 200),
            line(
                "10:01:00",
                "secure",
                "52.1.2.3",
                "arn:aws:sts::444455556666:assumed-role/ci/run-1",
                "REST.GET.OBJECT",
                "k",
                200,
            ),
            line(
                "10:02:00",
                "secure",
                "52.1.2.3",
                "arn:aws:iam::777788889999:user/ops",
                "REST.GET.OBJECT",
                "k",
                200,
            ),
            line(
                "10:03:00",
                "secure",
                "52.1.2.3",
                ROLE,
                "REST.GET.BUCKETPOLICY",
                "-",
                200,
            ),
            get("10:04:00", "secure", "52.79.54.241", 200),
        ]
        .concat(),
    );
    let path = log.to_str().unwrap();
    let (code, r) = check_json(&["--require-private", "secure", path]);
    assert_eq!((code, r["summary"]["violations"].as_u64()), (1, Some(5)));
    let (code, r) = check_json(&[
        "--require-private",
        "secure",
        "--allow-cidr",
        "203.0.113.0/24",
        "--allow-requester",
        "arn:aws:sts::444455556666:assumed-role/ci/*",
        "--allow-requester",
        "777788889999",
        "--ignore-operation",
        "REST.GET.BUCKETPOLICY",
        path,
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["excepted"], 4);
    assert_eq!(r["summary"]["violations"], 1);
    assert_eq!(r["violations"][0]["time"], "2022-05-09T10:04:00Z");
}

#[test]
fn the_policy_file_with_every_rule_type() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            get("10:00:00", "shared-data-prod", "198.51.100.7", 200), // NAT egress: excepted (rule)
            get("10:01:00", "shared-data-prod", "203.0.113.9", 200),  // office: excepted (global)
            get("10:02:00", "shared-data-prod", "52.79.54.241", 200), // violation
            line(
                "10:03:00",
                "shared-data-prod",
                "-",
                "AmazonS3",
                "S3.EXPIRE.OBJECT",
                "k",
                200,
            ), // internal: violation here
            get("10:04:00", "public-assets", "52.79.54.241", 200),    // require = any
            get("10:05:00", "shared-logs", "52.79.54.241", 200),      // shared-* rule
            line(
                "10:06:00",
                "shared-logs",
                "52.1.1.1",
                ROLE,
                "REST.PUT.LOGGING_STATUS",
                "-",
                200,
            ), // ignored op (wildcard)
        ]
        .concat(),
    );
    let policy = dir.path().join("vpce-policy.toml");
    write(
        &policy,
        r#"
[exceptions]
public_cidrs = ["203.0.113.0/24"]
operations = ["REST.*.LOGGING_STATUS"]

[[bucket]]
name = "shared-data-prod"
public_cidrs = ["198.51.100.7/32"]
allow_internal = false

[[bucket]]
name = "public-assets"
require = "any"

[[bucket]]
name = "shared-*"
"#,
    );
    let (code, r) = check_json(&["--policy", policy.to_str().unwrap(), log.to_str().unwrap()]);
    assert_eq!(code, 1);
    let buckets: Vec<_> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["bucket"].as_str().unwrap(),
                b["rule"].as_str().unwrap(),
                b["total"]["violations"].as_u64().unwrap(),
                b["total"]["excepted"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        buckets,
        [
            ("public-assets", "public-assets", 0, 0),
            ("shared-data-prod", "shared-data-prod", 2, 2),
            ("shared-logs", "shared-*", 1, 1)
        ]
    );
    assert_eq!(r["rules"][1]["require"], "any");

    // A typo in the policy file is a usage error, with the key named.
    write(&policy, "[[bucket]]\nnmae = \"x\"\n");
    vpce()
        .args([
            "check",
            "--policy",
            policy.to_str().unwrap(),
            log.to_str().unwrap(),
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nmae"));
}

#[test]
fn usage_and_input_errors_exit_2() {
    let (code, r) = check_json(&[
        "--require-private",
        "shared-data-prod",
        "testdata/logs",
        "no/such/logs",
    ]);
    assert_eq!(
        code, 2,
        "a missing input is an input error, even with violations"
    );
    assert_eq!(r["summary"]["result"], "error");
    assert_eq!(r["summary"]["violations"], 5);
    vpce()
        .args(["check", "testdata/logs"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no rules"));
    vpce()
        .args([
            "check",
            "--require-private",
            "b",
            "--allow-cidr",
            "office",
            "testdata/logs",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("\"office\" is not a CIDR"));
    vpce()
        .args([
            "check",
            "--require-private",
            "b",
            "--bucket-policy",
            "no/such/policy.json",
            "testdata/logs",
        ])
        .assert()
        .code(2);
}

#[test]
fn rejected_lines_fail_only_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            get("10:00:00", "secure", "10.0.0.1", 200),
            "this is not a log line\n".to_string(),
        ]
        .concat(),
    );
    let path = log.to_str().unwrap();
    assert_eq!(check_json(&["--require-private", "secure", path]).0, 0);
    let (code, r) = check_json(&["--require-private", "secure", "--strict", path]);
    assert_eq!(code, 2);
    assert_eq!(r["summary"]["rejected"], 1);
}

#[test]
fn relative_windows_count_back_from_an_injected_now() {
    let run = |now: &str, since: &str| -> Value {
        let out = vpce()
            .env("VPCE_AUDIT_NOW", now)
            .args([
                "check",
                "--require-private",
                "shared-data-prod",
                "--since",
                since,
                "--format",
                "json",
                "testdata/logs",
            ])
            .output()
            .unwrap();
        util::check_doc(&out.stdout)
    };
    // Violations at 10:32:05, 10:36:48, 10:41:12, 10:47:33, 10:55:01.
    let r = run("2022-05-09T11:00:00Z", "20m");
    assert_eq!(r["summary"]["since"], "2022-05-09T10:40:00Z");
    assert_eq!(r["summary"]["violations"], 3);
    let r = run("2022-05-09T12:00:00Z", "70m");
    assert_eq!(r["summary"]["violations"], 1);
    let r = run("2022-05-10T12:00:00Z", "24h");
    assert_eq!(r["summary"]["violations"], 0);
    assert_eq!(r["summary"]["result"], "pass");
    let r = run("2022-05-16T10:00:00Z", "7d");
    assert_eq!(r["summary"]["violations"], 5);
    // Absolute times too.
    let r = run("2030-01-01T00:00:00Z", "2022-05-09T10:50:00Z");
    assert_eq!(r["summary"]["violations"], 1);
}

#[test]
fn incremental_runs_never_double_count_or_miss() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap().to_string();
    let logs_arg = logs.to_str().unwrap().to_string();
    let run = || {
        check_json(&[
            "--require-private",
            "secure",
            "--state",
            &state_arg,
            &logs_arg,
        ])
    };

    // Hour 1: one object with one violation.
    write(
        &logs.join("2022-05-09-10-00-00-AAAA"),
        &[
            get("10:00:00", "secure", "52.1.2.3", 200),
            get("10:01:00", "secure", "10.0.0.1", 200),
        ]
        .concat(),
    );
    let (code, r) = run();
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["inputs"], 1);
    assert_eq!(r["summary"]["state"]["runs"], 1);
    assert_eq!(r["buckets"][0]["total"]["requests"], 2);
    assert!(state.exists());

    // Hour 2: nothing new. Nothing read, nothing new, the totals stay.
    let (code, r) = run();
    assert_eq!(code, 0, "an old violation does not fail every later run");
    assert_eq!(
        (
            r["summary"]["inputs"].as_u64(),
            r["summary"]["inputs_skipped"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(r["violations"], Value::Array(vec![]));
    assert_eq!(r["buckets"][0]["total"]["violations"], 1);
    assert_eq!(r["buckets"][0]["total"]["requests"], 2);
    assert_eq!(r["buckets"][0]["this_run"]["requests"], 0);

    // Hour 3: two new objects, one in a new folder; two new violations.
    write(
        &logs.join("2022-05-09-11-00-00-BBBB"),
        &get("11:00:00", "secure", "52.1.2.3", 200),
    );
    write(
        &logs.join("late/2022-05-09-11-30-00-CCCC"),
        &[
            get("11:30:00", "secure", "52.9.9.9", 200),
            get("11:31:00", "secure", "52.9.9.9", 403),
        ]
        .concat(),
    );
    let (code, r) = run();
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["inputs"], 2);
    assert_eq!(r["summary"]["violations"], 2);
    let listed: Vec<_> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["time"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["2022-05-09T11:00:00Z", "2022-05-09T11:30:00Z"]);
    let total = &r["buckets"][0]["total"];
    assert_eq!(
        (
            total["requests"].as_u64(),
            total["violations"].as_u64(),
            total["blocked"].as_u64()
        ),
        (Some(5), Some(3), Some(1))
    );
    assert_eq!(total["first_violation"], "2022-05-09T10:00:00Z");
    assert_eq!(total["last_violation"], "2022-05-09T11:30:00Z");
    assert_eq!(r["summary"]["state"]["runs"], 3);
    assert_eq!(r["summary"]["state"]["objects"], 3);

    // A failed run (a rejected line under --strict) does not touch the state.
    let before = fs::read(&state).unwrap();
    write(
        &logs.join("2022-05-09-12-00-00-DDDD"),
        &[
            get("12:00:00", "secure", "52.1.2.3", 200),
            "garbage\n".to_string(),
        ]
        .concat(),
    );
    let (code, _) = check_json(&[
        "--require-private",
        "secure",
        "--strict",
        "--state",
        &state_arg,
        &logs_arg,
    ]);
    assert_eq!(code, 2);
    assert_eq!(fs::read(&state).unwrap(), before);
    // ... so the next run still reads that object: nothing is missed.
    let (code, r) = run();
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["inputs"], 1);
    assert_eq!(r["buckets"][0]["total"]["violations"], 4);

    // An object that changed after it was processed is an error, not a re-count.
    let before = fs::read(&state).unwrap();
    let first = logs.join("2022-05-09-10-00-00-AAAA");
    let mut text = fs::read_to_string(&first).unwrap();
    text.push_str(&get("10:59:00", "secure", "52.1.2.3", 200));
    write(&first, &text);
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "secure",
            "--state",
            &state_arg,
            &logs_arg,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("changed since it was processed"));
    assert_eq!(fs::read(&state).unwrap(), before);
}

#[test]
fn a_corrupt_or_foreign_state_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    fs::write(
        &state,
        "{\"format\": \"vpce-audit check state\", \"version\": 1, \"runs\": ",
    )
    .unwrap();
    let s = state.to_str().unwrap();
    vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--state",
            s,
            "testdata/logs",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("is not a valid vpce-audit state"));
    assert!(fs::read_to_string(&state).unwrap().ends_with("\"runs\": "));

    // A good state written under other rules is refused too.
    fs::remove_file(&state).unwrap();
    vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--state",
            s,
            "testdata/logs",
        ])
        .assert()
        .code(1);
    vpce()
        .args([
            "check",
            "--require-private",
            "team-reports",
            "--state",
            s,
            "testdata/logs",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("other rules or settings"));

    // So is one written while cross-checking another bucket policy; the same policy in
    // another layout (the get-bucket-policy wrapper) is the same policy.
    fs::remove_file(&state).unwrap();
    let with = |policy: &str| {
        vpce()
            .args([
                "check",
                "--require-private",
                "shared-data-prod",
                "--state",
                s,
            ])
            .args(["--bucket-policy", policy, "testdata/logs"])
            .assert()
    };
    with("testdata/policies/enforced.json").code(1);
    with("testdata/policies/get-bucket-policy.json").code(0);
    with("testdata/policies/blog-post.json")
        .code(2)
        .stderr(predicates::str::contains("other rules or settings"));

    // Standard input cannot be remembered.
    vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--state",
            s,
            "-",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("standard input"));
}

#[test]
fn the_bucket_policy_cross_check_flags_succeeded_public_requests() {
    // The blog post's policy denies s3:GetObject outside vpce-0a1b2c3d4e5f67890, yet the
    // logs show five public GETs answered 200: the policy was not in force then.
    let (code, r) = check_json(&[
        "--bucket-policy",
        "testdata/policies/blog-post.json",
        "testdata/logs",
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["contradictions"], 5);
    assert_eq!(r["summary"]["violations"], 0);
    assert_eq!(r["bucket_policy"]["status"], "partial");
    let c = &r["contradictions"][0];
    assert_eq!(c["action"], "s3:GetObject");
    assert_eq!(c["statement"], "Access-to-specific-VPCE-only");
    assert_eq!(c["status"], 200);
    // Only the policy's own bucket is cross-checked.
    assert_eq!(r["buckets"].as_array().unwrap().len(), 1);

    // A policy that denies nothing makes no claim to contradict.
    let (code, r) = check_json(&[
        "--bucket-policy",
        "testdata/policies/allow-vpce-only.json",
        "testdata/logs",
    ]);
    assert_eq!(
        (code, r["summary"]["contradictions"].as_u64()),
        (0, Some(0))
    );

    // Only succeeded public PUTs contradict a policy that covers s3:*; blocked ones do not.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            line(
                "10:00:00",
                "shared-data-prod",
                "52.1.2.3",
                ROLE,
                "REST.PUT.OBJECT",
                "up/x",
                200,
            ),
            line(
                "10:01:00",
                "shared-data-prod",
                "52.1.2.3",
                ROLE,
                "REST.PUT.OBJECT",
                "up/x",
                403,
            ),
            line(
                "10:02:00",
                "shared-data-prod",
                "10.0.0.5",
                ROLE,
                "REST.PUT.OBJECT",
                "up/x",
                200,
            ),
        ]
        .concat(),
    );
    let (code, r) = check_json(&[
        "--bucket-policy",
        "testdata/policies/get-bucket-policy.json",
        log.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["contradictions"], 1);
    assert_eq!(r["contradictions"][0]["action"], "s3:PutObject");
    assert_eq!(
        r["contradictions"][0]["statement"],
        "DenyOutsideTheEndpoint"
    );
}

#[test]
fn log_values_are_escaped_in_tables_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &line(
            "10:00:00",
            "secure",
            "52.1.2.3",
            ROLE,
            "REST.GET.OBJECT",
            "=HYPERLINK(1)\x1b[2J",
            200,
        ),
    );
    let path = log.to_str().unwrap();
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "secure",
            "--format",
            "csv",
            path,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(csv.starts_with("kind,time,bucket,remote_ip,class,requester,operation,key,status,source,line,action,statement\n"));
    assert!(csv.contains(",'=HYPERLINK("), "{csv}");
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "secure",
            "--format",
            "csv",
            "--raw-csv",
            path,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains(",=HYPERLINK(1)"));
    let out = vpce()
        .args(["check", "--require-private", "secure", path])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("\\x1b[2J"), "{table}");
    assert!(!table.contains('\x1b'));
}
