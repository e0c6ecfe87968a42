//! End-to-end: `vpce-audit requests`, one fixture per quirk of real S3 logs.

use predicates::str::contains;
use serde_json::{json, Value};

use crate::util::{self, requests_ndjson, vpce};

const FIELDS: [&str; 27] = [
    "bucket_owner",
    "bucket",
    "time",
    "remote_ip",
    "requester",
    "request_id",
    "operation",
    "key",
    "request_uri",
    "http_status",
    "error_code",
    "bytes_sent",
    "object_size",
    "total_time",
    "turn_around_time",
    "referer",
    "user_agent",
    "version_id",
    "host_id",
    "signature_version",
    "cipher_suite",
    "authentication_type",
    "host_header",
    "tls_version",
    "access_point_arn",
    "acl_required",
    "source_region",
];

#[test]
fn ndjson_has_every_field_in_snake_case_plus_class_and_position() {
    let rows = requests_ndjson(&["testdata/quirks/eras.log"]);
    assert_eq!(rows.len(), 8);
    let mut expected: Vec<&str> = FIELDS.to_vec();
    expected.extend(["class", "source", "line", "vpc_endpoint_id"]);
    for row in &rows {
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sorted_expected = expected.clone();
        sorted_expected.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, sorted_expected);
    }
    let r = &rows[0];
    assert_eq!(r["time"], "2022-05-09T10:00:00Z");
    assert_eq!(r["remote_ip"], "10.0.0.5");
    assert_eq!(r["class"], "private");
    assert_eq!(r["http_status"], 200);
    assert_eq!(r["bytes_sent"], 512);
    assert_eq!(r["request_uri"], "GET /quirk-bucket/data/a.bin HTTP/1.1");
    assert_eq!(r["line"], 1);
    assert!(r["source"]
        .as_str()
        .unwrap()
        .ends_with("testdata/quirks/eras.log"));
}

#[test]
fn every_field_era_parses_and_unknown_fields_are_ignored() {
    let rows = requests_ndjson(&["testdata/quirks/eras.log"]);
    // 17 fields: ends with the user agent.
    assert_eq!(rows[0]["user_agent"], "aws-cli/2.7.0");
    assert_eq!(rows[0]["version_id"], Value::Null);
    assert_eq!(rows[0]["host_id"], Value::Null);
    // 19 fields: host id but no signature version.
    assert!(rows[2]["host_id"].as_str().unwrap().starts_with("kz8Q"));
    assert_eq!(rows[2]["signature_version"], Value::Null);
    // 24 fields: up to the TLS version.
    assert_eq!(rows[3]["tls_version"], "TLSv1.2");
    assert_eq!(rows[3]["access_point_arn"], Value::Null);
    // 26 and 27 fields.
    assert_eq!(rows[5]["acl_required"], "Yes");
    assert_eq!(rows[5]["source_region"], Value::Null);
    assert_eq!(rows[6]["source_region"], "us-east-1");
    // 29 fields: the two unknown ones change nothing.
    let mut with_extra = rows[7].clone();
    let mut plain = rows[6].clone();
    for r in [&mut with_extra, &mut plain] {
        r.as_object_mut().unwrap().remove("line");
    }
    assert_eq!(with_extra, plain);
}

#[test]
fn dashes_are_nulls_wherever_they_appear() {
    let rows = requests_ndjson(&["testdata/quirks/dashes.log"]);
    assert_eq!(rows.len(), 3);
    let lifecycle = &rows[0];
    assert_eq!(lifecycle["remote_ip"], Value::Null);
    assert_eq!(lifecycle["class"], "internal");
    assert_eq!(lifecycle["http_status"], Value::Null);
    assert_eq!(lifecycle["request_uri"], Value::Null);
    assert_eq!(lifecycle["user_agent"], Value::Null);
    let batch = &rows[1];
    assert_eq!(
        (
            &batch["request_uri"],
            &batch["referer"],
            &batch["user_agent"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(batch["http_status"], 204);
    assert_eq!(
        batch["host_id"].as_str().map(|h| h.starts_with("kz8Q")),
        Some(true)
    );
    let bare = &rows[2];
    for field in FIELDS
        .iter()
        .filter(|f| !["bucket_owner", "bucket", "time", "remote_ip"].contains(f))
    {
        assert_eq!(bare[*field], Value::Null, "{field}");
    }
    assert_eq!(bare["class"], "private");
}

#[test]
fn unescaped_quotes_stay_inside_their_field() {
    let rows = requests_ndjson(&["testdata/quirks/raw-quotes.log"]);
    assert_eq!(rows[0]["request_uri"], r#"GET /quirk-bucket/" HTTP/1.1"#);
    assert_eq!(rows[0]["http_status"], 403);
    assert_eq!(
        rows[1]["request_uri"],
        r#"GET /quirk-bucket/report.pdf?response-content-disposition=attachment;%20filename="report.pdf"&X-Amz-Signature=abc HTTP/1.1"#
    );
    assert_eq!(rows[2]["referer"], r#"https://example.com/a "quoted" page"#);
    assert_eq!(rows[2]["user_agent"], r#"Mozilla/5.0 "x" (X11)"#);
    assert_eq!(
        rows[3]["user_agent"],
        r#""Mozilla/5.0 (Windows NT 10.0; Win64; x64)"#
    );
    for r in &rows {
        assert_eq!(
            r["signature_version"], "SigV4",
            "fields after the quotes are in place"
        );
        assert_eq!(r["class"], "public");
    }
}

#[test]
fn whitespace_oddities_are_not_errors_and_blank_lines_are_not_lines() {
    let rows = requests_ndjson(&["testdata/quirks/whitespace.log"]);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 3, 6]);
    assert_eq!(
        rows[0]["requester"],
        "arn:aws:sts::111122223333:assumed-role/reader/i-0123456789abcdef0"
    );
    assert_eq!(rows[0]["source_region"], Value::Null);
    assert_eq!(rows[0]["acl_required"], "Yes");
    assert_eq!(rows[1]["tls_version"], "TLSv1.2");
    assert_eq!(rows[2]["user_agent"], "aws-cli/2.7.0");
    let report = util::report_json(&["testdata/quirks/whitespace.log"], 0);
    assert_eq!(report["summary"]["lines"], 3);
    assert_eq!(report["summary"]["blank_lines"], 3);
}

#[test]
fn odd_values_parse_exactly() {
    let rows = requests_ndjson(&["testdata/quirks/odd-values.log"]);
    assert_eq!(rows[0]["operation"], "S3.COMPUTE.OBJECT.CHECKSUM");
    assert_eq!(
        rows[1]["request_id"],
        "6f1e4f0a-6c1b-4c1e-9e0b-2a7f0e5f3b11"
    );
    assert_eq!(rows[2]["object_size"], json!(422_868_123_111u64));
    assert_eq!(rows[2]["bytes_sent"], 6_616_308);
    assert_eq!(rows[3]["bucket"], "logs.example.co.uk");
    assert_eq!(
        (&rows[4]["remote_ip"], &rows[4]["class"]),
        (
            &json!("2600:1f18:4a3:6902:9b5c:cd0:3e1d:aa01"),
            &json!("public")
        )
    );
    assert_eq!(
        (&rows[5]["remote_ip"], &rows[5]["class"]),
        (&json!("fd12:3456:789a:1::7"), &json!("private"))
    );
    assert_eq!(rows[6]["time"], "2022-05-09T10:00:00Z", "19:00 +0900");
    assert_eq!(
        rows[7]["time"], "2022-05-09T05:00:00Z",
        "23:30 -0530 the day before"
    );
}

#[test]
fn csv_lists_every_field_and_neutralises_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("formula.log");
    let line = std::fs::read_to_string(util::testdata("quirks/eras.log")).unwrap();
    let first = line
        .lines()
        .nth(5)
        .unwrap()
        .replace(" data/a.bin ", " =HYPERLINK(\"http://x\") ");
    std::fs::write(&log, format!("{first}\n")).unwrap();

    let out = vpce()
        .args(["requests", "--format", "csv"])
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut reader = csv::Reader::from_reader(&out[..]);
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut expected: Vec<String> = FIELDS.iter().map(|f| f.to_string()).collect();
    expected.extend([
        "class".into(),
        "source".into(),
        "line".into(),
        "vpc_endpoint_id".into(),
    ]);
    assert_eq!(header, expected);
    let row = reader.records().next().unwrap().unwrap();
    assert_eq!(&row[7], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&row[2], "2022-05-09T10:00:00Z");
    assert_eq!(&row[17], "", "a '-' field is an empty cell");
    assert_eq!(&row[27], "private");

    let raw = vpce()
        .args(["requests", "--format", "csv", "--raw-csv"])
        .arg(&log)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let row = csv::Reader::from_reader(&raw[..])
        .records()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(&row[7], "=HYPERLINK(\"http://x\")");
}

#[test]
fn table_shows_the_main_columns() {
    vpce()
        .args([
            "requests",
            "testdata/logs/2022-05-09-10-56-02-2B8D4F6A0C1E3957",
        ])
        .assert()
        .success()
        .stdout(contains("remote IP"))
        .stdout(contains("52.79.54.241"))
        .stdout(contains("public"))
        .stdout(contains("exports/2022-05-09/part-0004.parquet"))
        .stdout(contains("\n5 requests listed\n"));
}

#[test]
fn filters_apply_to_the_listing() {
    let rows = requests_ndjson(&[
        "--since",
        "2022-05-09T11:00:00Z",
        "--bucket",
        "shared-data-prod",
        "testdata/logs",
    ]);
    assert_eq!(rows.len(), 7);
    assert!(rows
        .iter()
        .all(|r| r["time"].as_str().unwrap() >= "2022-05-09T11:00:00Z"));
}

/// The rows of `requests` without filters that `keep` selects: what a filter must
/// list, computed here apart from the filter code.
fn expected(extra: &[&str], keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut args: Vec<&str> = extra.to_vec();
    args.push("testdata/logs");
    requests_ndjson(&args)
        .into_iter()
        .filter(|r| keep(r))
        .collect()
}

fn listed(args: &[&str]) -> Vec<Value> {
    let mut args = args.to_vec();
    args.push("testdata/logs");
    requests_ndjson(&args)
}

#[test]
fn the_denied_attempts_are_exactly_the_public_403s() {
    let denied = listed(&["--class", "public", "--status", "403"]);
    let want = expected(&[], |r| r["class"] == "public" && r["http_status"] == 403);
    assert_eq!(denied, want);
    assert_eq!(denied.len(), 3);
    // The report counts the same: public_denied of the blog post's bucket.
    let report = util::report_json(&["testdata/logs"], 0);
    assert_eq!(report["summary"]["public_denied"], 3);
    assert!(denied.iter().all(|r| r["error_code"] == "AccessDenied"));
    // The table ends with the count.
    vpce()
        .args([
            "requests",
            "--class",
            "public",
            "--status",
            "403",
            "testdata/logs",
        ])
        .assert()
        .success()
        .stdout(contains("\n3 requests listed\n"))
        .stdout(contains("AccessDenied"));
}

#[test]
fn each_filter_lists_what_it_says() {
    let role = "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader";
    let is_private = |ip: &str| ip.starts_with("10.") || ip.starts_with("172.");
    type Keep = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(Vec<&str>, Keep)> = vec![
        (
            vec!["--class", "public"],
            Box::new(|r| r["class"] == "public"),
        ),
        (
            vec!["--class", "private", "--class", "internal"],
            Box::new(|r| r["class"] != "public"),
        ),
        (
            vec!["--status", "2xx"],
            Box::new(|r| {
                r["http_status"]
                    .as_u64()
                    .is_some_and(|s| (200..300).contains(&s))
            }),
        ),
        (
            vec!["--error-code", "Access*"],
            Box::new(|r| r["error_code"] == "AccessDenied"),
        ),
        (
            vec!["--requester", role],
            Box::new(move |r| r["requester"].as_str().is_some_and(|w| w.starts_with(role))),
        ),
        (
            vec!["--requester", "111122223333"],
            Box::new(|r| {
                r["requester"]
                    .as_str()
                    .is_some_and(|w| w.contains(":111122223333:"))
            }),
        ),
        (
            vec!["--requester", "arn:aws:sts::*:assumed-role/report-*"],
            Box::new(|r| {
                r["requester"]
                    .as_str()
                    .is_some_and(|w| w.contains("report-builder"))
            }),
        ),
        (
            vec!["--ip", "52.79.0.0/16"],
            Box::new(|r| {
                r["remote_ip"]
                    .as_str()
                    .is_some_and(|ip| ip.starts_with("52.79."))
            }),
        ),
        (
            vec!["--ip", "10.0.12.34", "--ip", "172.16.0.0/12"],
            Box::new(move |r| {
                r["remote_ip"]
                    .as_str()
                    .is_some_and(|ip| ip == "10.0.12.34" || ip.starts_with("172.31."))
            }),
        ),
        (
            vec!["--class", "private", "--ip", "52.79.0.0/16"],
            Box::new(|_| false),
        ),
        (
            vec![
                "--class",
                "public",
                "--bucket",
                "shared-data-prod",
                "--since",
                "2022-05-09T11:00:00Z",
                "--operation",
                "REST.GET.OBJECT",
            ],
            Box::new(|r| {
                r["class"] == "public"
                    && r["bucket"] == "shared-data-prod"
                    && r["time"].as_str().unwrap() >= "2022-05-09T11:00:00Z"
                    && r["operation"] == "REST.GET.OBJECT"
            }),
        ),
    ];
    for (args, keep) in cases {
        let got = listed(&args);
        let want = expected(&[], &keep);
        assert_eq!(got, want, "{args:?}");
        assert!(
            got.iter().all(|r| r["remote_ip"].as_str().is_none_or(|ip| {
                args.contains(&"public") != is_private(ip) || !args.contains(&"--class")
            })),
            "{args:?}"
        );
    }
    vpce()
        .args(["requests", "--status", "4x", "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains("--status \"4x\""));
    vpce()
        .args(["requests", "--ip", "not-an-ip", "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains("--ip \"not-an-ip\""));
}

#[test]
fn anonymous_is_one_spelling_for_a_filter_and_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_652_090_400;
    let text = util::log_line("site", t0, "52.1.2.3", "-", 200, "-")
        + &util::log_line("site", t0 + 60, "10.0.0.5", "-", 200, "-")
        + &util::log_line("site", t0 + 120, "52.1.2.4", ROLE_SESSION, 200, "-");
    std::fs::write(dir.path().join("a.log"), text).unwrap();
    let path = dir.path().to_str().unwrap();
    let rows = requests_ndjson(&["--requester", "anonymous", path]);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["requester"].is_null()));
    let report = util::report_json(&[path], 0);
    let b = &report["buckets"][0];
    let names: Vec<&str> = b["requesters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["requester"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"anonymous"), "{names:?}");
    assert_eq!(b["transitions"][0]["requester"], "anonymous");
    assert!(b["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["account"] == "anonymous"));
    let table = util::stdout(&["requests", "--requester", "anonymous", path]);
    assert_eq!(table.matches("anonymous").count(), 2, "{table}");
}

const ROLE_SESSION: &str = "arn:aws:sts::111122223333:assumed-role/web/i-1";

#[test]
fn the_listing_goes_to_a_file_with_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("denied.csv");
    vpce()
        .args([
            "requests", "--class", "public", "--status", "403", "--format", "csv", "-o",
        ])
        .arg(&path)
        .arg("testdata/logs")
        .assert()
        .success()
        .stdout("");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        written.lines().count(),
        4,
        "header and three rows: {written}"
    );
    let stdout = util::stdout(&[
        "requests",
        "--class",
        "public",
        "--status",
        "403",
        "--format",
        "csv",
        "testdata/logs",
    ]);
    assert_eq!(written, stdout);
}

#[test]
fn times_in_a_zone_in_the_table_and_csv_utc_in_ndjson() {
    let table = util::stdout(&[
        "requests",
        "--tz",
        "Asia/Seoul",
        "--class",
        "public",
        "--status",
        "403",
        "testdata/logs",
    ]);
    assert!(table.contains("2022-05-09T20:06:40+09:00"), "{table}");
    assert!(table.contains("+09:00"), "{table}");
    let ndjson = requests_ndjson(&["--tz", "Asia/Seoul", "--class", "public", "testdata/logs"]);
    assert!(ndjson[0]["time"].as_str().unwrap().ends_with('Z'));
}
