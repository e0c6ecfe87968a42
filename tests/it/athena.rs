//! End-to-end: `vpce-audit athena ddl|query` and `vpce-audit report --from-athena`.
//! (The equality of the generated SQL with the local report is proven by
//! scripts/athena-equality.py, which runs the DuckDB dialect over the same logs.)

use predicates::str::contains;

use crate::util::{report_json, stdout, testdata, vpce};

#[test]
fn ddl_for_the_simple_layout_is_an_unpartitioned_regex_table() {
    let ddl = stdout(&["athena", "ddl", "--location", "s3://my-logs/s3-access"]);
    assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`s3_access_logs` ("));
    assert!(ddl.contains("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'"));
    assert!(ddl.contains("LOCATION 's3://my-logs/s3-access/'"));
    assert!(!ddl.contains("PARTITIONED BY"));
    assert!(!ddl.contains("projection"));
}

#[test]
fn ddl_for_the_partitioned_layout_projects_account_region_bucket_and_day() {
    let ddl = stdout(&[
        "athena",
        "ddl",
        "--layout",
        "partitioned",
        "--database",
        "audit",
        "--table",
        "logs",
        "--location",
        "s3://my-logs/s3/",
        "--account",
        "111122223333",
        "--region",
        "ap-northeast-2",
        "--source-bucket",
        "shared-data-prod",
        "--source-bucket",
        "team-reports",
        "--from",
        "2022-05-01",
        "--to",
        "2022-12-31",
    ]);
    assert!(ddl.contains("`audit`.`logs`"));
    assert!(ddl.contains("'projection.source_bucket.values' = 'shared-data-prod,team-reports'"));
    assert!(ddl.contains("'projection.dt.range' = '2022/05/01,2022/12/31'"));
    assert!(ddl.contains(
        "'storage.location.template' = 's3://my-logs/s3/${source_account}/${source_region}/${source_bucket}/${dt}'"
    ));
}

#[test]
fn ddl_refuses_what_athena_would_misread() {
    vpce()
        .args([
            "athena",
            "ddl",
            "--location",
            "s3://l/",
            "--layout",
            "partitioned",
        ])
        .assert()
        .code(2)
        .stderr(contains("--layout partitioned needs --account"));
    vpce()
        .args([
            "athena",
            "ddl",
            "--location",
            "s3://l/",
            "--account",
            "111122223333",
        ])
        .assert()
        .code(2)
        .stderr(contains("--layout partitioned needs to be chosen"));
    vpce()
        .args([
            "athena",
            "ddl",
            "--location",
            "s3://l/",
            "--table",
            "My-Logs",
        ])
        .assert()
        .code(2)
        .stderr(contains("--table \"My-Logs\""));
    vpce()
        .args(["athena", "ddl", "--location", "/local/dir"])
        .assert()
        .code(2)
        .stderr(contains("--location \"/local/dir\""));
}

#[test]
fn query_is_built_from_the_report_flags() {
    let q = stdout(&[
        "athena",
        "query",
        "--interval",
        "5m",
        "--vpc-cidr",
        "198.19.0.0/16",
        "--bucket",
        "shared-data-prod",
        "--operation",
        "REST.GET.OBJECT",
        "--since",
        "2022-05-09T10:00:00Z",
        "--layout",
        "partitioned",
    ]);
    assert!(q.contains("FROM \"default\".\"s3_access_logs\""));
    assert!(q.contains("ip4 BETWEEN 3323133952 AND 3323199487 -- 198.19.0.0/16"));
    assert!(q.contains("contains('198.19.0.0/16', ip6)"));
    assert!(q.contains("t - ((t % 300) + 300) % 300"));
    assert!(q.contains("bucket IN ('shared-data-prod') AND operation IN ('REST.GET.OBJECT')"));
    assert!(q.contains("WHERE dt >= '2022/05/08'\n    AND source_bucket IN ('shared-data-prod')"));
    assert!(q.contains("count(DISTINCT path) AS paths"));
    let duck = stdout(&["athena", "query", "--dialect", "duckdb"]);
    assert!(!duck.contains("IPADDRESS") && duck.contains("v6_groups"));
    vpce()
        .args(["athena", "query", "--since", "yesterday"])
        .assert()
        .code(2)
        .stderr(contains("--since \"yesterday\""));
}

#[test]
fn from_athena_renders_the_local_report() {
    // testdata/athena/blog-post-15m.csv: the query run (DuckDB dialect) over testdata/logs.
    let athena = report_json(&["--from-athena", "testdata/athena/blog-post-15m.csv"], 0);
    let local = report_json(&["--interval", "15m", "testdata/logs"], 0);
    // Every section: timeline, requesters, transitions, accounts, top addresses.
    assert_eq!(athena["buckets"], local["buckets"]);
    assert_eq!(
        athena["buckets"][0]["transitions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for k in [
        "lines",
        "parsed",
        "rejected",
        "matched",
        "inputs",
        "interval",
        "first",
        "last",
        "private_ranges",
        "requests",
        "private",
        "public",
        "public_denied",
        "internal",
    ] {
        assert_eq!(athena["summary"][k], local["summary"][k], "{k}");
    }
    assert_eq!(athena["buckets"][0]["verdict"], "mixed");
    assert_eq!(
        athena["summary"]["not_available"],
        serde_json::json!([
            "summary.bytes",
            "summary.blank_lines",
            "rejections",
            "summary.input_errors"
        ])
    );
    assert!(local["summary"].get("not_available").is_none());

    let csv = stdout(&[
        "report",
        "--from-athena",
        "--format",
        "csv",
        "testdata/athena/blog-post-15m.csv",
    ]);
    assert!(csv.contains("shared-data-prod,mixed,2022-05-09T11:00:00Z,3,0,0,3,3,0,0,0,0,1,729"));
    let table = stdout(&[
        "report",
        "--from-athena",
        "testdata/athena/blog-post-15m.csv",
    ]);
    assert!(table.contains("not available from aggregated results: summary.bytes"));
}

#[test]
fn from_athena_refuses_filters_and_broken_results() {
    let csv = testdata("athena/blog-post-15m.csv");
    let csv = csv.to_str().unwrap();
    vpce()
        .args(["report", "--from-athena", "--bucket", "x", csv])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with"));
    let text = std::fs::read_to_string(csv).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A download cut short: the last row (a requester of the last bucket) is missing.
    let cut: Vec<&str> = text.lines().collect();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, cut[..cut.len() - 1].join("\n")).unwrap();
    vpce()
        .args(["report", "--from-athena"])
        .arg(&short)
        .assert()
        .code(2)
        .stderr(contains("its requesters add up to 5 requests"));
    // Rejected lines on Athena: counted, and an error with --strict.
    let rejected = dir.path().join("rejected.csv");
    std::fs::write(
        &rejected,
        text.replacen("\"26\",\"0\",\"4\"", "\"27\",\"1\",\"4\"", 1),
    )
    .unwrap();
    vpce()
        .args(["report", "--from-athena", "--strict"])
        .arg(&rejected)
        .assert()
        .code(2)
        .stderr(contains("1 of 27 lines rejected on Athena"));
    vpce()
        .args(["report", "--from-athena", csv, csv])
        .assert()
        .code(2)
        .stderr(contains("reads one result CSV"));
}
