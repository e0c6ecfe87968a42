//! End-to-end tests of `vpce-audit check`: the real binary on real-shaped logs.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::util::{self, check_json, check_json_at, vpce};

/// "Now" for the runs that judge freshness: the day after the sample logs.
const NEXT_DAY: &str = "2022-05-10T00:00:00Z";

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
fn bucket_patterns_match_and_a_typo_in_a_rule_fails_with_no_evidence() {
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
    // The typo alone fails the check, with its own finding, shown first.
    let (code, r) = check_json(&["--require-private", "team-reprots", "testdata/logs"]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["violations"], 0);
    assert_eq!(r["summary"]["failing_findings"], 1);
    let f = &r["findings"][0];
    assert_eq!(
        (&f["kind"], &f["fails"], &f["subject"]),
        (
            &json!("no_evidence"),
            &json!(true),
            &json!("rule team-reprots")
        )
    );
    assert!(f["reason"]
        .as_str()
        .unwrap()
        .contains("a typo in the bucket name"));
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "team-reprots",
            "testdata/logs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].contains("FAIL: 0 violation(s), 0 contradiction(s), 1 failing finding(s)"),
        "{table}"
    );
    assert!(
        lines[2].starts_with(
            "FAIL no_evidence (rule team-reprots): rule team-reprots matched no request"
        ),
        "{table}"
    );
    // The rare job that expects silence says so.
    let (code, r) = check_json(&[
        "--require-private",
        "team-reprots",
        "--allow-no-evidence",
        "testdata/logs",
    ]);
    assert_eq!((code, &r["findings"][0]["fails"]), (0, &json!(false)));
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
            get("10:00:00", "shared-data-prod", "198.51.100.7", 200), // a partner: excepted (rule)
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
fn rejected_lines_fail_past_the_allowed_share_and_always_under_strict() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let good = get("10:00:00", "secure", "10.0.0.1", 200);
    // 1 rejected line in 101: within the default 1 %.
    write(
        &log,
        &[good.repeat(100), "this is not a log line\n".to_string()].concat(),
    );
    let path = log.to_str().unwrap();
    assert_eq!(check_json(&["--require-private", "secure", path]).0, 0);
    let (code, r) = check_json(&["--require-private", "secure", "--strict", path]);
    assert_eq!(code, 2);
    assert_eq!(r["summary"]["rejected"], 1);
    // 1 in 2: the input is unreadable, whatever the records that did parse say.
    write(
        &log,
        &[good, "this is not a log line\n".to_string()].concat(),
    );
    let (code, r) = check_json(&["--require-private", "secure", path]);
    assert_eq!(code, 1);
    assert_eq!(r["findings"][0]["kind"], "unreadable_input");
    assert!(
        r["findings"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("1 of 2 line(s) were rejected (50.0 %), more than --max-rejected 1%"),
        "{}",
        r["findings"][0]["reason"]
    );
    let (code, _) = check_json(&["--require-private", "secure", "--max-rejected", "50%", path]);
    assert_eq!(code, 0);
    vpce()
        .args([
            "check",
            "--require-private",
            "secure",
            "--max-rejected",
            "lots",
            path,
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("expected a percentage"));
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
    // Logs outside the window: no violation, and no evidence either.
    let r = run("2022-05-10T12:00:00Z", "24h");
    assert_eq!(r["summary"]["violations"], 0);
    assert_eq!(r["summary"]["result"], "fail");
    assert_eq!(r["findings"][0]["kind"], "no_evidence");
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
        check_json_at(
            NEXT_DAY,
            &[
                "--require-private",
                "secure",
                "--state",
                &state_arg,
                &logs_arg,
            ],
        )
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
    let (code, _) = check_json_at(
        NEXT_DAY,
        &[
            "--require-private",
            "secure",
            "--strict",
            "--state",
            &state_arg,
            &logs_arg,
        ],
    );
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
        .env("VPCE_AUDIT_NOW", NEXT_DAY)
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
        .env("VPCE_AUDIT_NOW", NEXT_DAY)
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
            .env("VPCE_AUDIT_NOW", NEXT_DAY)
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
    assert!(csv.starts_with("kind,fails,subject,reason,time,bucket,remote_ip,class,outcome,requester,account,operation,key,status,error_code,request_id,source,line,action,statement\n"));
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

#[test]
fn an_empty_folder_fails_with_no_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let (code, r) = check_json(&["--require-private", "*", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let kinds: Vec<(&str, &str)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("no_evidence", "inputs"), ("no_evidence", "rule *")]
    );
    assert_eq!(r["summary"]["result"], "fail");
}

#[test]
fn cloudtrail_json_is_read_as_evidence_not_refused() {
    // CloudTrail is a log vpce-audit reads (docs/cloudtrail.md): its S3 requests are
    // judged, and an S3 event on no bucket is skipped, not rejected.
    let dir = tempfile::tempdir().unwrap();
    let trail = r#"{"Records":[{"eventVersion":"1.08","eventTime":"2022-05-09T10:35:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","sourceIPAddress":"52.79.54.241","requestParameters":{"bucketName":"shared-data-prod","key":"a"},"requestID":"A1"},{"eventVersion":"1.08","eventTime":"2022-05-09T10:36:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"52.79.54.241"}]}"#;
    fs::write(
        dir.path()
            .join("111122223333_CloudTrail_ap-northeast-2_20220509T1035Z.json.gz"),
        util::gzip(trail.as_bytes()),
    )
    .unwrap();
    let (code, r) = check_json(&["--require-private", "*", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let s = &r["summary"];
    assert_eq!(
        (
            s["parsed"].as_u64(),
            s["rejected"].as_u64(),
            s["violations"].as_u64()
        ),
        (Some(1), Some(0), Some(1))
    );
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["kind"] != "unreadable_input" && f["kind"] != "no_evidence"));
    assert_eq!(r["violations"][0]["operation"], "GetObject");
}

#[test]
fn zstd_bzip2_and_xz_logs_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(
        &logs.join("plain.log"),
        &get("10:00:00", "secure", "10.0.0.1", 200),
    );
    fs::write(
        logs.join("a.log.zst"),
        b"\x28\xb5\x2f\xfd\x24\x05\x29\x00\x00",
    )
    .unwrap();
    fs::write(logs.join("b.log.bz2"), b"BZh91AY&SY\x00\x00").unwrap();
    fs::write(
        logs.join("c.log.xz"),
        b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46",
    )
    .unwrap();
    let (code, r) = check_json(&["--require-private", "secure", logs.to_str().unwrap()]);
    assert_eq!(code, 2, "an input that cannot be read is an input error");
    let errors: Vec<(String, String)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let name = e["source"].as_str().unwrap();
            let file = Path::new(name)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (file, e["message"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for ((file, message), (name, command)) in
        errors
            .iter()
            .zip([("zstd", "zstd -d"), ("bzip2", "bunzip2"), ("xz", "xz -d")])
    {
        assert!(
            message.starts_with(&format!("{name}-compressed")),
            "{file}: {message}"
        );
        assert!(message.contains(command), "{file}: {message}");
    }
    assert_eq!(r["summary"]["parsed"], 1, "the readable log is still read");
}

#[test]
fn stale_evidence_fails_the_check() {
    // The newest request under the rule is from 2022-05-09T11:48:20Z.
    let args = [
        "--require-private",
        "shared-data-prod",
        "--since",
        "2022-05-09T11:00:00Z",
        "--max-age",
        "26h",
        "testdata/logs",
    ];
    let (code, r) = check_json_at("2022-05-10T12:00:00Z", &args);
    assert_eq!((code, r["findings"].as_array().unwrap().len()), (0, 0));
    let (code, r) = check_json_at("2022-05-10T14:00:00Z", &args);
    assert_eq!(code, 1);
    let f = &r["findings"][0];
    assert_eq!(
        (&f["kind"], &f["subject"]),
        (&json!("stale_evidence"), &json!("rule shared-data-prod"))
    );
    assert!(
        f["reason"]
            .as_str()
            .unwrap()
            .starts_with("the newest request under rule shared-data-prod is from 2022-05-09T11:48:20Z (1d2h11m40s ago)"),
        "{}",
        f["reason"]
    );
    vpce()
        .args([
            "check",
            "--require-private",
            "b",
            "--max-age",
            "yesterday",
            "testdata/logs",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--max-age \"yesterday\""));
}

/// A log line with an error code, a request id and a requester of its own.
fn denial(time: &str, ip: &str, status: u16, code: &str, id: &str, requester: &str) -> String {
    format!(
        "5a2e4c8f0b1d3e6f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f shared-data-prod [09/May/2022:{time} +0000] {ip} {requester} {id} REST.GET.OBJECT exports/part-0000.parquet \"GET /shared-data-prod/exports/part-0000.parquet HTTP/1.1\" {status} {code} 243 - 11 - \"-\" \"aws-cli/2.7.0\" - hostid= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader shared-data-prod.s3.ap-northeast-2.amazonaws.com TLSv1.3 - -\n"
    )
}

#[test]
fn a_private_403_is_private_denied_and_a_bad_signature_is_rejected_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    write(
        &log,
        &[
            // The blog post's 403 came through the endpoint: the policy named another vpce.
            denial("11:05:10", "10.0.3.57", 403, "AccessDenied", "PRIV1", ROLE),
            denial("11:05:11", "10.0.3.57", 403, "AccessDenied", "PRIV2", ROLE),
            denial("11:06:00", "10.0.12.34", 200, "-", "OK1", ROLE),
            // A scanner with a forged signature, and a blocked attempt.
            denial(
                "11:07:00",
                "198.51.100.99",
                403,
                "SignatureDoesNotMatch",
                "SIG1",
                "-",
            ),
            denial(
                "11:08:00",
                "52.79.54.241",
                403,
                "AccessDenied",
                "BLK1",
                ROLE,
            ),
        ]
        .concat(),
    );
    let path = log.to_str().unwrap();
    let (code, r) = check_json(&["--require-private", "shared-data-prod", path]);
    assert_eq!(
        code, 0,
        "denied through the endpoint is a warning by default"
    );
    let s = &r["summary"];
    assert_eq!(
        [
            &s["private_denied"],
            &s["public_rejected"],
            &s["blocked"],
            &s["violations"]
        ],
        [&json!(2), &json!(1), &json!(1), &json!(0)]
    );
    let f = &r["findings"][0];
    assert_eq!(
        (&f["kind"], &f["fails"]),
        (&json!("private_denied"), &json!(false))
    );
    assert!(
        f["reason"].as_str().unwrap().starts_with(
            "2 request(s) through the VPC endpoint were denied (HTTP 403 AccessDenied), from 10.0.3.57 (2): does the bucket policy name the right vpce id"
        ),
        "{}",
        f["reason"]
    );
    let denied: Vec<_> = r["private_denied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["request_id"].as_str().unwrap(),
                d["error_code"].as_str().unwrap(),
                d["account"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        denied,
        [
            ("PRIV1", "AccessDenied", "111122223333"),
            ("PRIV2", "AccessDenied", "111122223333")
        ]
    );
    let attempts: Vec<_> = r["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["request_id"].as_str().unwrap(),
                a["outcome"].as_str().unwrap(),
                a["account"].as_str().unwrap(),
                a["time"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            ("SIG1", "rejected", "anonymous", "2022-05-09T11:07:00Z"),
            ("BLK1", "denied", "111122223333", "2022-05-09T11:08:00Z")
        ]
    );
    assert_eq!(r["buckets"][0]["total"]["public_rejected"], 1);

    // Failing on it is a flag.
    let (code, r) = check_json(&[
        "--require-private",
        "shared-data-prod",
        "--fail-on-private-denied",
        path,
    ]);
    assert_eq!((code, &r["findings"][0]["fails"]), (1, &json!(true)));

    // CSV: one row each, with its kind, request id and error code.
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--format",
            "csv",
            path,
        ])
        .output()
        .unwrap();
    let mut csv = ::csv::Reader::from_reader(&out.stdout[..]);
    let rows: Vec<::csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let kinds: Vec<(&str, &str, &str)> = rows.iter().map(|r| (&r[0], &r[15], &r[14])).collect();
    assert_eq!(
        kinds,
        [
            ("private_denied", "", ""),
            ("rejected", "SIG1", "SignatureDoesNotMatch"),
            ("blocked", "BLK1", "AccessDenied"),
            ("private_denied", "PRIV1", "AccessDenied"),
            ("private_denied", "PRIV2", "AccessDenied"),
        ]
    );

    // The table lists them with a count; the HTML page in tables of their own.
    let out = vpce()
        .args(["check", "--require-private", "shared-data-prod", path])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("warning private_denied (bucket shared-data-prod)"),
        "{table}"
    );
    assert!(
        table.contains("refused attempts from the internet"),
        "{table}"
    );
    assert!(
        table.contains("SIG1") && table.contains("SignatureDoesNotMatch"),
        "{table}"
    );
    assert!(
        table.contains("requests denied through the VPC endpoint (2):"),
        "{table}"
    );
    let page = dir.path().join("check.html");
    vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--format",
            "html",
            "-o",
        ])
        .arg(&page)
        .arg(path)
        .assert()
        .code(0);
    let html = fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("<h3>Refused attempts from the internet</h3>"),
        "{html}"
    );
    assert!(html.contains("<h3>Denied through the VPC endpoint</h3>"));
    assert!(html.contains("<code>SIG1</code>") && html.contains("<code>PRIV2</code>"));
    assert!(html.contains("<div class=\"findings\">"));
}

#[test]
fn attempts_past_the_table_limit_are_counted_and_listed_fully_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let lines: Vec<String> = (0..30)
        .map(|i| {
            denial(
                &format!("11:{i:02}:00"),
                "52.79.54.241",
                403,
                "AccessDenied",
                &format!("B{i}"),
                ROLE,
            )
        })
        .chain([get("12:00:00", "shared-data-prod", "10.0.0.1", 200)])
        .collect();
    write(&log, &lines.concat());
    let path = log.to_str().unwrap();
    let (_, r) = check_json(&["--require-private", "shared-data-prod", path]);
    assert_eq!(r["attempts"].as_array().unwrap().len(), 30);
    assert_eq!(r["summary"]["attempts_listed"], 30);
    let out = vpce()
        .args(["check", "--require-private", "shared-data-prod", path])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("the first 20 of 30"), "{table}");
    assert!(table.contains("B19") && !table.contains("B20"), "{table}");
}

#[test]
fn exceptions_that_hide_the_incident_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    // The blog post: the role reads privately, then over the NAT, whose address
    // someone made an exception.
    write(
        &log,
        &[
            get("10:02:11", "shared-data-prod", "10.0.12.34", 200),
            get("10:32:05", "shared-data-prod", "52.79.54.241", 200),
        ]
        .concat(),
    );
    let path = log.to_str().unwrap();
    let (code, r) = check_json(&[
        "--require-private",
        "shared-data-prod",
        "--allow-cidr",
        "52.79.54.241/32",
        path,
    ]);
    assert_eq!(
        code, 0,
        "an exception is a choice; the check warns about it"
    );
    let f = &r["findings"][0];
    assert_eq!(
        (&f["kind"], &f["fails"]),
        (&json!("exception_covers_transition"), &json!(false))
    );
    let reason = f["reason"].as_str().unwrap();
    assert!(reason.starts_with("public_cidrs 52.79.54.241/32 (every rule) let through public requests of arn:aws:sts::111122223333:assumed-role/ec2-s3-reader (the first at 2022-05-09T10:32:05Z from 52.79.54.241)"), "{reason}");

    // Catch-all exceptions.
    let (_, r) = check_json(&[
        "--require-private",
        "shared-data-prod",
        "--allow-cidr",
        "0.0.0.0/0",
        "--allow-requester",
        "*",
        path,
    ]);
    let subjects: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "catch_all_exception")
        .map(|f| f["reason"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[0].starts_with("public_cidrs 0.0.0.0/0 (every rule) covers every address"));

    // An IPv4-mapped IPv6 address is excepted by its IPv4 form, as it is classified.
    write(
        &log,
        &get("10:40:00", "shared-data-prod", "::ffff:203.0.113.9", 200),
    );
    let (code, r) = check_json(&[
        "--require-private",
        "shared-data-prod",
        "--allow-cidr",
        "203.0.113.0/24",
        path,
    ]);
    assert_eq!((code, r["summary"]["excepted"].as_u64()), (0, Some(1)));

    // A VPC range that covers everything is refused.
    for all in ["0.0.0.0/0", "::/0"] {
        vpce()
            .args(["check", "--require-private", "b", "--vpc-cidr", all, path])
            .assert()
            .code(2)
            .stderr(predicates::str::contains(
                "would count every address as private",
            ));
    }
}

#[test]
fn the_bucket_policy_is_not_contradicted_before_it_took_effect() {
    // The blog post's policy was attached at 11:05; the five public GETs came before.
    let args = |since: &str| {
        check_json(&[
            "--bucket-policy",
            "testdata/policies/blog-post.json",
            "--policy-since",
            since,
            "testdata/logs",
        ])
    };
    let (code, r) = args("2022-05-09T11:05:00Z");
    assert_eq!(code, 0);
    assert_eq!(r["summary"]["contradictions"], 0);
    assert_eq!(r["summary"]["before_policy"], 5);
    assert_eq!(r["summary"]["policy_since"], "2022-05-09T11:05:00Z");
    let (code, r) = args("2022-05-09T10:40:00Z");
    assert_eq!(
        (code, r["summary"]["contradictions"].as_u64()),
        (1, Some(3))
    );
    vpce()
        .args([
            "check",
            "--require-private",
            "b",
            "--policy-since",
            "2022-05-09",
            "testdata/logs",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--bucket-policy"));
}

#[test]
fn a_catch_all_resource_policy_is_applied_to_the_buckets_it_names() {
    // A Deny on "*" in a policy that names shared-data-prod: team-reports, in the same
    // logs, is not under it.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    fs::write(
        &policy,
        r#"{"Statement": [
            {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared-data-prod/*"},
            {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f67890"}}}]}"#,
    )
    .unwrap();
    let (code, r) = check_json(&["--bucket-policy", policy.to_str().unwrap(), "testdata/logs"]);
    assert_eq!(code, 1);
    let buckets: Vec<&str> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(buckets, ["shared-data-prod"]);
    assert_eq!(r["summary"]["contradictions"], 5);
    assert_eq!(r["contradictions"][0]["statement"], "Deny");
}

#[test]
fn the_same_file_reached_twice_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write(&logs.join("a"), &get("10:00:00", "secure", "52.1.2.3", 200));
    write(
        &logs.join("archive/b"),
        &get("10:01:00", "secure", "52.1.2.3", 200),
    );
    std::os::unix::fs::symlink(logs.join("a"), logs.join("archive/link-to-a")).unwrap();
    let all = logs.to_str().unwrap().to_string();
    let archive = logs.join("archive").to_str().unwrap().to_string();
    // Links inside a folder are not followed without --follow: the second walk's file
    // is the only duplicate, and the link is left out with a warning.
    let (code, r) = check_json(&["--require-private", "secure", &all, &archive]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["violations"], 2);
    assert_eq!(r["summary"]["inputs"], 2);
    assert_eq!(r["summary"]["inputs_duplicate"], 1);
    assert_eq!(r["warnings"].as_array().unwrap().len(), 2);
    // Followed, the link inside the folder, then the second walk's two files.
    let (code, r) = check_json(&["--require-private", "secure", "--follow", &all, &archive]);
    assert_eq!(code, 1);
    assert_eq!(r["summary"]["violations"], 2);
    assert_eq!(r["summary"]["inputs"], 2);
    assert_eq!(r["summary"]["inputs_duplicate"], 3);
    assert_eq!(
        r["duplicates"][0]["same_as"],
        logs.join("a").to_str().unwrap()
    );
    let report = util::report_json(&["--follow", &all, &archive], 0);
    assert_eq!(report["summary"]["requests"], 2);
    assert_eq!(report["summary"]["inputs_duplicate"], 3);
}

#[test]
fn ocsf_findings_carry_what_joins_them_to_other_evidence() {
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--require-private",
            "team-reprots",
            "--format",
            "ocsf",
            "testdata/logs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let types: Vec<&str> = findings
        .iter()
        .map(|f| f["finding_info"]["types"][0].as_str().unwrap())
        .collect();
    // The finding about the run first, then the five violations and three blocked attempts.
    assert_eq!(types[0], "no_evidence");
    assert_eq!(types.iter().filter(|t| **t == "violation").count(), 5);
    assert_eq!(types.iter().filter(|t| **t == "blocked").count(), 3);
    let v = &findings[1];
    assert_eq!(
        (&v["class_uid"], &v["type_uid"], &v["severity_id"]),
        (&json!(2004), &json!(200401), &json!(4))
    );
    assert_eq!(
        v["time"], 1_652_092_325_000_i64,
        "2022-05-09T10:32:05Z in milliseconds"
    );
    assert_eq!(
        v["api"]["request"]["uid"],
        v["evidences"][0]["data"]["request_id"]
    );
    assert_eq!(v["resources"][0]["uid"], "arn:aws:s3:::shared-data-prod");
    assert_eq!(v["observables"][0]["value"], "52.79.54.241");
    assert_eq!(v["evidences"][0]["data"]["account"], "111122223333");
    assert_eq!(v["evidences"][0]["data"]["line"], 1);
    assert_eq!(
        v["finding_info"]["uid"],
        format!(
            "vpce-audit:violation:shared-data-prod:{}",
            v["api"]["request"]["uid"].as_str().unwrap()
        )
    );
}

#[test]
fn junit_has_a_test_case_per_rule_and_bucket() {
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "shared-*",
            "--require-private",
            "team-*",
            "--require-private",
            "team-reprots",
            "--format",
            "junit",
            "testdata/logs",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vpce-audit check\" tests=\"6\" failures=\"2\" errors=\"0\">"), "{xml}");
    let cases: Vec<&str> = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase"))
        .map(|l| l.trim())
        .collect();
    let names: Vec<String> = cases
        .iter()
        .map(|c| {
            let attr = |name: &str| {
                let start = c.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
                c[start..start + c[start..].find('"').unwrap()].to_string()
            };
            format!("{} / {}", attr("classname"), attr("name"))
        })
        .collect();
    assert_eq!(
        names,
        [
            "inputs / readable",
            "rule shared-* / evidence",
            "rule shared-* / shared-data-prod",
            "rule team-* / evidence",
            "rule team-* / team-reports",
            "rule team-reprots / evidence",
        ]
    );
    assert!(xml.contains("<failure type=\"violation\" message=\"5 request(s) from the internet were let through\">2022-05-09T10:32:05Z 52.79.54.241"), "{xml}");
    assert!(
        xml.contains(
            "<failure type=\"no_evidence\" message=\"rule team-reprots matched no request"
        ),
        "{xml}"
    );
}

/// A log whose violations are out of time order (10:05 before 10:00, 10:20 before
/// 10:10), split over two files read by several workers: the first violation reported
/// is the earliest, the last the latest, in this run and in the total.
#[test]
fn first_and_last_violation_are_the_earliest_and_latest_whatever_the_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("a.log"),
        &[
            get("10:05:00", "secure", "52.79.54.241", 200),
            get("09:00:00", "secure", "10.0.1.2", 200),
            get("10:00:00", "secure", "52.79.54.241", 200),
        ]
        .concat(),
    );
    write(
        &dir.path().join("b.log"),
        &[
            get("10:20:00", "secure", "52.79.54.241", 200),
            get("10:10:00", "secure", "52.79.54.241", 200),
            get("11:00:00", "secure", "10.0.1.2", 200),
        ]
        .concat(),
    );
    let logs = dir.path().to_str().unwrap();
    for threads in ["1", "2"] {
        let (code, r) = check_json(&["--require-private", "secure", "--threads", threads, logs]);
        assert_eq!(code, 1);
        let b = &r["buckets"][0];
        for counters in [&b["this_run"], &b["total"]] {
            assert_eq!(counters["violations"], 4, "{threads} threads");
            assert_eq!(counters["first_violation"], "2022-05-09T10:00:00Z");
            assert_eq!(counters["last_violation"], "2022-05-09T10:20:00Z");
        }
    }
}
