//! End-to-end: `vpce-audit [report]` on the sample logs and the quirk fixtures.

use predicates::str::contains;
use serde_json::{json, Value};

use crate::util::{self, bucket, report_json, testdata, vpce};

fn timeline(b: &Value) -> Vec<(String, u64, u64, u64, u64, u64)> {
    b["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start"].as_str().unwrap().to_string(),
                p["requests"].as_u64().unwrap(),
                p["private"].as_u64().unwrap(),
                p["public"].as_u64().unwrap(),
                p["public_denied"].as_u64().unwrap(),
                p["internal"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn sample_logs_tell_the_blog_post_story() {
    let r = report_json(&["testdata/logs"], 0);
    let s = &r["summary"];
    assert_eq!(
        (s["inputs"].as_u64(), s["lines"].as_u64()),
        (Some(4), Some(26))
    );
    assert_eq!(
        (s["parsed"].as_u64(), s["rejected"].as_u64()),
        (Some(26), Some(0))
    );
    assert_eq!(s["first"], "2022-05-09T10:02:11Z");
    assert_eq!(s["last"], "2022-05-09T12:00:03Z");

    let shared = bucket(&r, "shared-data-prod");
    assert_eq!(shared["verdict"], "mixed");
    assert_eq!(
        timeline(shared),
        [
            ("2022-05-09T10:00:00Z".into(), 13, 8, 5, 0, 0),
            ("2022-05-09T11:00:00Z".into(), 7, 4, 3, 3, 0),
        ]
    );
    assert_eq!(shared["distinct_public_ips"], 1);
    assert_eq!(
        shared["top_public_ips"][0],
        json!({"name": "52.79.54.241", "requests": 8})
    );
    // Sessions of an assumed role are one principal: the role.
    let role = "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader";
    assert_eq!(
        shared["transitions"],
        json!([
            {"requester": role, "account": "111122223333", "from": "private", "to": "public",
             "at": "2022-05-09T10:32:05Z", "remote_ip": "52.79.54.241", "likely_cause": null},
            {"requester": role, "account": "111122223333", "from": "public", "to": "private",
             "at": "2022-05-09T11:21:15Z", "remote_ip": "10.0.12.34", "likely_cause": null}
        ])
    );
    assert_eq!(shared["accounts"][0]["account"], "111122223333");
    assert_eq!(shared["accounts"][0]["public_denied"], 3);

    let reports = bucket(&r, "team-reports");
    assert_eq!(reports["verdict"], "private-only");
    assert_eq!(
        (reports["private"].as_u64(), reports["internal"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(reports["distinct_private_ips"], 2);
    let accounts: Vec<&str> = reports["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["account"].as_str().unwrap())
        .collect();
    assert_eq!(
        accounts,
        ["444455556666", "AmazonS3", "svc:logging.s3.amazonaws.com"]
    );
}

#[test]
fn report_is_the_default_command_and_prints_tables() {
    vpce()
        .arg("testdata/logs")
        .assert()
        .success()
        .stdout(contains("shared-data-prod"))
        .stdout(contains("mixed"))
        .stdout(contains("2022-05-09T10:32:05Z"))
        .stdout(contains("private-only"))
        .stdout(contains("26 lines: 26 parsed, 0 rejected"));
}

#[test]
fn windows_are_aligned_to_the_interval_in_utc() {
    let r = report_json(
        &[
            "--interval",
            "15m",
            "--bucket",
            "shared-data-prod",
            "testdata/logs",
        ],
        0,
    );
    let starts: Vec<String> = timeline(bucket(&r, "shared-data-prod"))
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        starts,
        [
            "2022-05-09T10:00:00Z",
            "2022-05-09T10:15:00Z",
            "2022-05-09T10:30:00Z",
            "2022-05-09T10:45:00Z",
            "2022-05-09T11:00:00Z",
            "2022-05-09T11:15:00Z",
            "2022-05-09T11:30:00Z",
            "2022-05-09T11:45:00Z",
        ]
    );
    let daily = report_json(&["--interval", "1d", "testdata/logs"], 0);
    assert_eq!(
        timeline(bucket(&daily, "team-reports"))[0].0,
        "2022-05-09T00:00:00Z"
    );
    // Offsets are converted before windows are cut: 19:00 +0900 is 10:00 UTC.
    let odd = report_json(&["--interval", "1h", "testdata/quirks/odd-values.log"], 0);
    let hours: Vec<String> = timeline(bucket(&odd, "quirk-bucket"))
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(hours, ["2022-05-09T05:00:00Z", "2022-05-09T10:00:00Z"]);
}

#[test]
fn filters_select_buckets_times_and_operations() {
    let r = report_json(&["--bucket", "team-reports", "testdata/logs"], 0);
    assert_eq!(r["summary"]["buckets"], 1);
    assert_eq!(
        (
            r["summary"]["parsed"].as_u64(),
            r["summary"]["matched"].as_u64()
        ),
        (Some(26), Some(6))
    );

    let r = report_json(
        &[
            "--since",
            "2022-05-09T11:00:00Z",
            "--until",
            "2022-05-09T12:00:00Z",
            "testdata/logs",
        ],
        0,
    );
    assert_eq!(
        r["summary"]["matched"], 10,
        "7 of shared-data-prod, 3 of team-reports"
    );
    assert_eq!(r["summary"]["since"], "2022-05-09T11:00:00Z");
    assert_eq!(bucket(&r, "shared-data-prod")["public_denied"], 3);

    let r = report_json(
        &["--since", "2022-05-09T20:00:00+09:00", "testdata/logs"],
        0,
    );
    assert_eq!(
        r["summary"]["matched"], 11,
        "20:00 KST is 11:00 UTC: 10 requests, and 12:00:03"
    );
}

#[test]
fn relative_since_counts_back_from_now() {
    let out = vpce()
        .env("VPCE_AUDIT_NOW", "2022-05-09T12:30:00Z")
        .args(["--format", "json", "--since", "1h", "testdata/logs"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r = util::report_doc(&out);
    assert_eq!(r["summary"]["since"], "2022-05-09T11:30:00Z");
    assert_eq!(r["summary"]["matched"], 5);
}

#[test]
fn operation_filter_and_vpc_cidr() {
    let r = report_json(&["--operation", "REST.PUT.OBJECT", "testdata/logs"], 0);
    assert_eq!(r["summary"]["matched"], 2);
    let r = report_json(&["--vpc-cidr", "52.79.54.0/24", "testdata/logs"], 0);
    let shared = bucket(&r, "shared-data-prod");
    assert_eq!(shared["verdict"], "private-only");
    assert_eq!(shared["private"], 20);
    assert!(r["summary"]["private_ranges"]
        .as_array()
        .unwrap()
        .contains(&json!("52.79.54.0/24")));
}

#[test]
fn csv_has_one_row_per_bucket_and_window() {
    let out = vpce()
        .args(["--format", "csv", "testdata/logs"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "bucket,verdict,start,requests,private,private_denied,public,public_denied,public_rejected,public_allowed,internal,distinct_private_ips,distinct_public_ips,bytes_sent"
    );
    assert_eq!(rows.len(), 1 + 2 + 3);
    assert_eq!(
        rows[2],
        "shared-data-prod,mixed,2022-05-09T11:00:00Z,7,4,0,3,3,0,0,0,1,1,193587"
    );
}

#[test]
fn stdin_gives_the_same_report_as_the_file() {
    let path = "testdata/logs/2022-05-09-10-56-02-2B8D4F6A0C1E3957";
    let from_file = report_json(&[path], 0);
    let out = vpce()
        .args(["--format", "json", "-"])
        .pipe_stdin(testdata("logs/2022-05-09-10-56-02-2B8D4F6A0C1E3957"))
        .unwrap()
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let from_stdin = util::report_doc(&out);
    assert_eq!(from_file["buckets"], from_stdin["buckets"]);
    assert_eq!(from_stdin["summary"]["lines"], 5);
}

#[test]
fn gzip_is_detected_by_content_with_every_member() {
    let r = report_json(&["testdata/quirks/two-gzip-members"], 0);
    assert_eq!(
        (
            r["summary"]["lines"].as_u64(),
            r["summary"]["parsed"].as_u64()
        ),
        (Some(3), Some(3))
    );
    let r = report_json(&["testdata/logs/archive"], 0);
    assert_eq!(r["summary"]["parsed"], 6);
}

#[test]
fn rejected_lines_are_counted_and_explained() {
    let r = report_json(
        &["testdata/quirks/rejects.log", "testdata/quirks/eras.log"],
        0,
    );
    let s = &r["summary"];
    assert_eq!(
        (
            s["lines"].as_u64(),
            s["parsed"].as_u64(),
            s["rejected"].as_u64()
        ),
        (Some(16), Some(8), Some(8))
    );
    let reasons: Vec<(u64, &str)> = r["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["line"].as_u64().unwrap(), x["reason"].as_str().unwrap()))
        .collect();
    let expected = [
        (
            1,
            "truncated record: 12 of the 17 required fields, the object size field is missing",
        ),
        (
            2,
            "time field (#3): 'not an access lo…' is not a time like [06/Feb/2019:00:00:38 +0000]",
        ),
        (
            3,
            "time field (#3): '[31/Feb/2022:10:…' is not a time like [06/Feb/2019:00:00:38 +0000]",
        ),
        (
            4,
            "remote IP field (#4): 'xx.xx.xx.xx' is not an IP address or '-'",
        ),
        (
            5,
            "remote IP field (#4): '10.0.0.300' is not an IP address or '-'",
        ),
        (
            6,
            "HTTP status field (#10): 'OK' is not a 3-digit status or '-'",
        ),
        (
            7,
            "request-URI field (#9): no closing quote followed by the fields that come next",
        ),
        (8, "bytes sent field (#12): '12x' is not a number or '-'"),
    ];
    assert_eq!(reasons, expected);
    assert!(r["rejections"][0]["source"]
        .as_str()
        .unwrap()
        .ends_with("rejects.log"));
}

#[test]
fn rejections_go_to_stderr_and_strict_makes_them_fatal() {
    vpce()
        .args(["testdata/quirks/rejects.log"])
        .assert()
        .code(0)
        .stderr(contains(
            "testdata/quirks/rejects.log:4: rejected: remote IP field (#4): 'xx.xx.xx.xx'",
        ))
        .stderr(contains("8 of 8 lines rejected (5 shown above"));
    vpce()
        .args([
            "--strict",
            "--show-rejects",
            "0",
            "testdata/quirks/rejects.log",
        ])
        .assert()
        .code(2)
        .stderr(contains("8 of 8 lines rejected (0 shown above"));
}

#[test]
fn unreadable_inputs_are_named_and_the_rest_is_read() {
    let r = report_json(&["testdata/no-such-dir", "testdata/logs"], 2);
    assert_eq!(r["summary"]["parsed"], 26);
    assert_eq!(r["errors"][0]["source"], "testdata/no-such-dir");
    assert_eq!(r["errors"][0]["message"], "no such file or directory");
    vpce()
        .args(["testdata/no-such-dir"])
        .assert()
        .code(2)
        .stderr(contains(
            "vpce-audit: testdata/no-such-dir: no such file or directory",
        ));
}

#[test]
fn usage_errors_exit_2() {
    vpce().assert().code(2).stderr(contains("INPUT"));
    vpce()
        .args(["--interval", "7m", "testdata/logs"])
        .assert()
        .code(2);
    vpce()
        .args(["--since", "yesterday", "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains("--since"));
    vpce()
        .args(["--vpc-cidr", "10.0.0.0/33", "testdata/logs"])
        .assert()
        .code(2);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = report_json(&["--threads", "1", "testdata/logs", "testdata/quirks"], 0);
    let four = report_json(&["--threads", "4", "testdata/logs", "testdata/quirks"], 0);
    assert_eq!(one, four);
}

/// One record of bucket `shared` at 10:0`minute` from `ip`, answered `status` `code`.
fn answered(minute: u32, ip: &str, status: u16, code: &str) -> String {
    format!(
        "o shared [09/May/2022:10:0{minute}:00 +0000] {ip} arn:aws:sts::111122223333:assumed-role/reader/i-1 REQ{minute} REST.GET.OBJECT k \"GET /shared/k HTTP/1.1\" {status} {code} 10 10 1 1 \"-\" \"ua\"\n"
    )
}

#[test]
fn denials_through_the_endpoint_and_refusals_before_a_policy_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let text = [
        // The blog post's 403: through the endpoint, the policy named another vpce.
        answered(0, "10.0.3.57", 403, "AccessDenied"),
        answered(1, "10.0.3.57", 403, "AccessDenied"),
        answered(2, "10.0.3.58", 200, "-"),
        // A public request the policy denied, and two refused before any policy.
        answered(3, "52.79.54.241", 403, "AccessDenied"),
        answered(4, "198.51.100.9", 403, "SignatureDoesNotMatch"),
        answered(5, "198.51.100.9", 400, "ExpiredToken"),
        // Let through: the policy allowed it, the key was missing.
        answered(6, "52.79.54.241", 404, "NoSuchKey"),
    ]
    .concat();
    std::fs::write(&log, text).unwrap();
    let path = log.to_str().unwrap();

    let r = report_json(&[path], 0);
    let s = &r["summary"];
    let counts = |v: &Value| {
        [
            "private",
            "private_denied",
            "public",
            "public_denied",
            "public_rejected",
            "public_allowed",
        ]
        .map(|k| v[k].as_u64().unwrap())
    };
    assert_eq!(counts(s), [3, 2, 4, 1, 2, 1]);
    let b = bucket(&r, "shared");
    assert_eq!(counts(b), [3, 2, 4, 1, 2, 1]);
    assert_eq!(b["verdict"], "mixed");
    assert_eq!(counts(&b["timeline"][0]), [3, 2, 4, 1, 2, 1]);
    assert_eq!(counts(&b["accounts"][0]), [3, 2, 4, 1, 2, 1]);
    assert_eq!(
        b["denied_private_ips"],
        json!([{"name": "10.0.3.57", "requests": 2}])
    );
    let warnings: Vec<&str> = b["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("2 requests through the VPC endpoint were denied"));
    assert!(warnings[0].contains("10.0.3.57 (2)"));
    assert!(warnings[1].contains("2 requests from the internet were refused before any policy"));

    let csv = util::stdout(&["report", "--format", "csv", path]);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("shared,mixed,2022-05-09T10:00:00Z,7,3,2,4,1,2,1,0,"),
        "{csv}"
    );
    let table = util::stdout(&["report", path]);
    assert!(table.contains("warning: 2 requests through the VPC endpoint were denied"));
    assert!(table.contains("public refused"));
    let html = util::stdout(&["report", "--format", "html", path]);
    assert!(html.contains("<p class=\"warning\">2 requests through the VPC endpoint"));
    assert!(html.contains("<rect class=\"bar private-denied\""));
    assert!(html.contains("<rect class=\"bar rejected\""));
}

#[test]
fn days_follow_the_zones_midnight_across_a_clock_change() {
    // New York, 2024-03-10: 02:00 EST becomes 03:00 EDT; the day has 23 hours.
    let dir = tempfile::tempdir().unwrap();
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp()
    };
    let mut logs = String::new();
    for t in [
        "2024-03-09T23:30:00-05:00",
        "2024-03-10T00:30:00-05:00",
        "2024-03-10T03:30:00-04:00",
        "2024-03-10T23:30:00-04:00",
        "2024-03-11T00:30:00-04:00",
    ] {
        logs += &util::log_line("b", at(t), "10.0.0.1", "-", 200, "-");
    }
    std::fs::write(dir.path().join("a.log"), logs).unwrap();
    let path = dir.path().to_str().unwrap();
    let r = util::report_json(&["--tz", "America/New_York", "--interval", "1d", path], 0);
    assert_eq!(r["summary"]["time_zone"], "America/New_York");
    let days: Vec<(String, u64)> = r["buckets"][0]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start"].as_str().unwrap().to_string(),
                p["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    // JSON stays UTC: local midnights at -05:00, then -04:00.
    assert_eq!(
        days,
        [
            ("2024-03-09T05:00:00Z".to_string(), 1),
            ("2024-03-10T05:00:00Z".to_string(), 3),
            ("2024-03-11T04:00:00Z".to_string(), 1),
        ]
    );
    // CSV and the table show the zone's clock.
    let csv = util::stdout(&[
        "--tz",
        "America/New_York",
        "--interval",
        "1d",
        "--format",
        "csv",
        path,
    ]);
    assert!(csv.contains(",2024-03-10T00:00:00-05:00,3,"), "{csv}");
    assert!(csv.contains(",2024-03-11T00:00:00-04:00,1,"), "{csv}");
    let table = util::stdout(&["--tz", "America/New_York", "--interval", "1d", path]);
    assert!(table.contains("2024-03-11T00:00:00-04:00"), "{table}");
    assert!(table.contains("times in America/New_York"), "{table}");
    // Hours over the same day: 23 of them on 2024-03-10, the 02:00 hour missing.
    let r = util::report_json(&["--tz", "America/New_York", "--interval", "1h", path], 0);
    let starts: Vec<&str> = r["buckets"][0]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["start"].as_str().unwrap())
        .collect();
    assert!(
        starts.contains(&"2024-03-10T07:00:00Z"),
        "03:00 EDT: {starts:?}"
    );
    // Without --tz the days are UTC's.
    let utc = util::report_json(&["--interval", "1d", path], 0);
    assert_eq!(utc["summary"]["time_zone"], "UTC");
    assert_eq!(
        utc["buckets"][0]["timeline"][0]["start"],
        "2024-03-10T00:00:00Z"
    );
    vpce()
        .args(["--tz", "Mars/Olympus", path])
        .assert()
        .code(2)
        .stderr(contains("IANA"));
}

#[test]
fn csv_rows_are_the_requesters_accounts_or_transitions_on_request() {
    let requesters = util::stdout(&["--format", "csv", "--rows", "requesters", "testdata/logs"]);
    let mut lines = requesters.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("bucket,requester,account,requests,private"));
    assert!(requesters.contains(
        "shared-data-prod,arn:aws:sts::111122223333:assumed-role/ec2-s3-reader,111122223333,20,12,0,8,5,3,0,0,"
    ), "{requesters}");
    assert!(requesters.contains("52.79.54.241 8"));
    let accounts = util::stdout(&["--format", "csv", "--rows", "accounts", "testdata/logs"]);
    assert!(
        accounts.contains("shared-data-prod,111122223333,1,20,12,0,8,5,3,0,0"),
        "{accounts}"
    );
    let transitions = util::stdout(&["--format", "csv", "--rows", "transitions", "testdata/logs"]);
    assert_eq!(transitions.lines().count(), 3, "{transitions}");
    assert!(transitions.contains("shared-data-prod,2022-05-09T10:32:05Z,"));
}
