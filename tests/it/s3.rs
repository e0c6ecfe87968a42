//! End-to-end: `s3://` inputs read from a real S3 server, SeaweedFS on 127.0.0.1, which
//! `scripts/test.sh` installs and starts (scripts/seaweedfs.sh). Every test here fails,
//! rather than skips, when that server is not there.
#![cfg(feature = "s3")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use predicates::str::contains;
use serde_json::Value;
use tokio::runtime::Runtime;
use vpce_audit::input::s3::{self, ErrorKind, Options, Session};

use crate::util::{self, bucket, gzip, testdata, vpce, vpce_command};

/// The test server, from the environment scripts/seaweedfs.sh exports.
struct Server {
    endpoint: String,
    access_key: String,
    secret_key: String,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: the S3 tests need the local SeaweedFS server that \
                     scripts/test.sh starts; run scripts/test.sh"
                )
            })
        };
        let endpoint = var("VPCE_AUDIT_TEST_S3_ENDPOINT");
        assert!(
            endpoint.starts_with("http://127.0.0.1:"),
            "tests talk only to 127.0.0.1, not {endpoint}"
        );
        Server {
            endpoint,
            access_key: var("VPCE_AUDIT_TEST_S3_ACCESS_KEY"),
            secret_key: var("VPCE_AUDIT_TEST_S3_SECRET_KEY"),
        }
    })
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new().unwrap())
}

/// A client with the server's admin credentials, for setting up buckets.
fn admin() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let s = server();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&s.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                &s.access_key,
                &s.secret_key,
                None,
                None,
                "test",
            ))
            .build();
        Client::from_conf(config)
    })
}

/// A new bucket whose name starts with `base`.
fn new_bucket(base: &str) -> String {
    let name = format!("{base}-{}", std::process::id());
    runtime()
        .block_on(admin().create_bucket().bucket(&name).send())
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    name
}

/// Uploads every `(key, body)`, 32 at a time.
fn put_all(bucket: &str, objects: Vec<(String, Vec<u8>)>) {
    runtime().block_on(async {
        let mut running = tokio::task::JoinSet::new();
        for (key, body) in objects {
            if running.len() >= 32 {
                running.join_next().await.unwrap().unwrap();
            }
            let request = admin()
                .put_object()
                .bucket(bucket)
                .key(key.clone())
                .body(ByteStream::from(body));
            running.spawn(async move {
                request
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
            });
        }
        while let Some(done) = running.join_next().await {
            done.unwrap();
        }
    });
}

/// Uploads the files under `dir` (walked in name order) below `prefix`.
fn put_dir(bucket: &str, dir: &Path, prefix: &str) {
    let mut objects = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).unwrap();
            let key = format!("{prefix}{}", rel.display());
            objects.push((key, std::fs::read(entry.path()).unwrap()));
        }
    }
    put_all(bucket, objects);
}

fn set_policy(bucket: &str, policy: &str) {
    runtime()
        .block_on(
            admin()
                .put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send(),
        )
        .unwrap_or_else(|e| panic!("put policy on {bucket}: {e:?}"));
}

/// The environment a user would have: the test credentials and nothing else of AWS.
fn aws_env(cmd: &mut Command, access_key: &str, secret_key: &str) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", secret_key)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/vpce-audit-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/vpce-audit-test/credentials",
        )
        .env("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
        .env("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required");
}

/// `vpce-audit SUBCOMMAND --endpoint-url SERVER` with the test credentials.
fn vpce_s3(subcommand: &str) -> assert_cmd::Command {
    let s = server();
    let mut std_cmd = vpce_command();
    aws_env(&mut std_cmd, &s.access_key, &s.secret_key);
    let mut cmd = assert_cmd::Command::from_std(std_cmd);
    cmd.args([subcommand, "--endpoint-url", &s.endpoint]);
    cmd
}

/// `vpce-audit report --format json ARGS` against the server; exits with `code`.
fn s3_report(args: &[&str], code: i32) -> (Value, String) {
    let out = vpce_s3("report")
        .args(["--format", "json"])
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .clone();
    (
        util::report_doc(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn local_report(args: &[&str]) -> Value {
    util::report_json(args, 0)
}

/// The `summary.s3` counts: (listed, skipped, read).
fn s3_counts(report: &Value) -> (u64, u64, u64) {
    let s = &report["summary"]["s3"];
    (
        s["objects_listed"].as_u64().unwrap(),
        s["objects_skipped"].as_u64().unwrap(),
        s["objects_read"].as_u64().unwrap(),
    )
}

/// A report with the S3 counts removed and S3 names turned back into local paths.
fn as_local(mut report: Value, url: &str, path: &str) -> Value {
    report["summary"]
        .as_object_mut()
        .unwrap()
        .remove("s3")
        .expect("an S3 run reports summary.s3");
    let text = serde_json::to_string(&report).unwrap().replace(url, path);
    serde_json::from_str(&text).unwrap()
}

/// A log record of `bucket` at `time` (seconds since the epoch) from `ip`.
fn record(bucket: &str, time: i64, ip: &str) -> String {
    let t = chrono::DateTime::from_timestamp(time, 0)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    format!(
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} [{t}] {ip} \
         arn:aws:sts::111122223333:assumed-role/reader/i-0a1b2c3d4e5f67890 3E57427F3EXAMPLE \
         REST.GET.OBJECT data/report.csv \"GET /{bucket}/data/report.csv HTTP/1.1\" 200 - 1024 \
         1024 12 11 \"-\" \"aws-sdk-java/1.12\" - host-id SigV4 ECDHE-RSA-AES128-GCM-SHA256 \
         AuthHeader {bucket}.s3.amazonaws.com TLSv1.2 - -\n"
    )
}

fn stamp(time: i64) -> String {
    chrono::DateTime::from_timestamp(time, 0)
        .unwrap()
        .format("%Y-%m-%d-%H-%M-%S")
        .to_string()
}

const HOUR: i64 = 3600;
const JAN_1_2022: i64 = 1_640_995_200;
const MAY_1_2022: i64 = 1_651_363_200;

#[test]
fn s3_inputs_give_the_same_report_as_the_same_files() {
    let b = new_bucket("copy");
    put_dir(&b, &testdata("logs"), "audit/logs/");
    put_dir(&b, &testdata("quirks"), "audit/quirks/");
    let url = format!("s3://{b}/audit/");
    let (remote, stderr) = s3_report(&[&url], 0);
    let files = 4 + std::fs::read_dir(testdata("quirks")).unwrap().count() as u64;
    assert_eq!(s3_counts(&remote), (files, 0, files));
    assert!(
        stderr.contains(&format!(
            "s3: {files} objects listed, 0 skipped by the time in their name, {files} read"
        )),
        "{stderr}"
    );
    assert!(remote["summary"]["rejected"].as_u64().unwrap() > 0);
    let local = local_report(&["testdata/logs", "testdata/quirks"]);
    assert!(local["summary"].get("s3").is_none());
    assert_eq!(as_local(remote, &url, "testdata/"), local);

    // The request listing too, record for record (gzip and all).
    let out = vpce_s3("requests")
        .args(["--format", "ndjson", &url])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let remote = String::from_utf8(out).unwrap().replace(&url, "testdata/");
    let local = vpce()
        .args([
            "requests",
            "--format",
            "ndjson",
            "testdata/logs",
            "testdata/quirks",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(remote, String::from_utf8(local).unwrap());
}

#[test]
fn local_and_s3_inputs_mix() {
    let b = new_bucket("mixed");
    for name in [
        "2022-05-09-10-31-44-7C1A9E3F5B2D4086",
        "2022-05-09-10-56-02-2B8D4F6A0C1E3957",
        "2022-05-09-11-50-17-9E3B7D1F5A2C6048",
    ] {
        put_all(
            &b,
            vec![(
                format!("logs/{name}"),
                std::fs::read(testdata("logs").join(name)).unwrap(),
            )],
        );
    }
    let url = format!("s3://{b}/logs/");
    let (mixed, _) = s3_report(&["testdata/logs/archive", &url], 0);
    assert_eq!(mixed["summary"]["inputs"], 4);
    assert_eq!(s3_counts(&mixed), (3, 0, 3));
    assert_eq!(bucket(&mixed, "shared-data-prod")["verdict"], "mixed");
    assert_eq!(
        as_local(mixed, &url, "testdata/logs/"),
        local_report(&["testdata/logs"])
    );
}

#[test]
fn flat_layout_pages_past_1000_keys_and_prunes_by_key_time() {
    let b = new_bucket("flat");
    let objects = (0..1100)
        .map(|h| {
            let t = JAN_1_2022 + h * HOUR;
            let body = record("src", t - 300, "10.0.0.7");
            let body = if h % 2 == 1 {
                gzip(body.as_bytes())
            } else {
                body.into_bytes()
            };
            (format!("logs/{}-{h:04X}UNIQUE", stamp(t)), body)
        })
        .collect();
    put_all(&b, objects);
    let url = format!("s3://{b}/logs/");

    let (all, _) = s3_report(&[&url], 0);
    assert_eq!(s3_counts(&all), (1100, 0, 1100));
    assert_eq!(all["summary"]["lines"], 1100);
    assert_eq!(all["summary"]["private"], 1100);

    // Hours 1050..1060; objects named 24 h around that are read: hours 1026..1083.
    // The first page (hours 0..999) is all before the window, so the listing jumps.
    let since = stamp_rfc3339(JAN_1_2022 + 1050 * HOUR);
    let until = stamp_rfc3339(JAN_1_2022 + 1060 * HOUR);
    let (window, stderr) = s3_report(&["--since", &since, "--until", &until, &url], 0);
    assert_eq!(s3_counts(&window), (1074, 1016, 58), "{stderr}");
    assert_eq!(window["summary"]["inputs"], 58);
    assert_eq!(window["summary"]["matched"], 10);
    assert!(stderr.contains("1074 objects listed, 1016 skipped by the time in their name, 58 read"));

    // Fewer download slots than workers: readers wait for slots or cancel read-ahead,
    // and the result is the same.
    for (slots, threads) in [("1", "4"), ("2", "3")] {
        let (again, _) = s3_report(
            &[
                "--s3-concurrency",
                slots,
                "--threads",
                threads,
                "--since",
                &since,
                "--until",
                &until,
                &url,
            ],
            0,
        );
        assert_eq!(
            again, window,
            "--s3-concurrency {slots} --threads {threads}"
        );
    }
}

/// The sources of `requests --format ndjson ARGS`, one per record, in output order.
fn request_sources(args: &[&str]) -> Vec<String> {
    let out = vpce_s3("requests")
        .args(["--format", "ndjson"])
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["source"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_listing_cut_into_time_ranges_reads_every_key_once_in_both_layouts() {
    let b = new_bucket("fanout");
    let mut keys = Vec::new();
    // Two days of flat names, many at the first and the last second of every hour (a
    // page of 1,000 covers a few hours, so the rest is cut into ranges at hours).
    for hour in 0..48 {
        let t = MAY_1_2022 + hour * HOUR;
        for (second, n) in [(0, 14), (1799, 1), (3599, 14)] {
            for u in 0..n {
                keys.push(format!("logs/{}-{u:02}UNIQUE", stamp(t + second)));
            }
        }
    }
    // The partitioned layout of two source buckets beside them.
    for hour in 0..48 {
        let t = MAY_1_2022 + hour * HOUR;
        let day = chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format("%Y/%m/%d");
        for source in ["src-a", "src-b"] {
            for u in 0..4 {
                keys.push(format!(
                    "logs/123456789012/eu-west-1/{source}/{day}/{}-{u}",
                    stamp(t + u * 900)
                ));
            }
        }
    }
    // Names that follow no pattern, some exactly where the ranges are cut. (No folder
    // named like the start of a sibling name, `x/…` beside `x-…`: SeaweedFS lists such a
    // folder before the names, where S3 lists keys in byte order.)
    for odd in [
        "logs/!first",
        "logs/2022-05-01-05-00-00",
        "logs/2022-05-01-05-00-00-",
        "logs/2022-05-01-junk",
        "logs/2022-05-01-12-30-00x/inside",
        "logs/2022.txt",
        "logs/123456789012/eu-west-1/src-a/2022/05/01/notes.txt",
        "logs/archive/old.log",
        "logs/zzz",
    ] {
        keys.push(odd.to_string());
    }
    keys.sort();
    let objects = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let body = record("fan", MAY_1_2022 + i as i64, "10.0.0.9");
            (k.clone(), body.into_bytes())
        })
        .collect();
    put_all(&b, objects);
    let url = format!("s3://{b}/logs/");
    let expected: Vec<String> = keys.iter().map(|k| format!("s3://{b}/{k}")).collect();

    // Every key once, in key order: one record each.
    assert_eq!(request_sources(&[&url]), expected);
    let (report, _) = s3_report(&[&url], 0);
    let n = keys.len() as u64;
    assert_eq!(s3_counts(&report), (n, 0, n));
    assert_eq!(report["summary"]["lines"], n);
    // The same with any number of requests in flight.
    assert_eq!(request_sources(&["--s3-concurrency", "3", &url]), expected);

    // A window: every dated key inside it (widened by a day) is read once, and the
    // names without a time as well.
    let since = stamp_rfc3339(MAY_1_2022 + 30 * HOUR);
    let until = stamp_rfc3339(MAY_1_2022 + 31 * HOUR);
    let from = MAY_1_2022 + 30 * HOUR - 24 * HOUR;
    let to = MAY_1_2022 + 31 * HOUR + 24 * HOUR;
    let (window, _) = s3_report(&["--since", &since, "--until", &until, &url], 0);
    let in_window = keys
        .iter()
        .filter(|k| s3::key_time(k).is_some_and(|t| t >= from && t < to))
        .count() as u64;
    let undated = keys.iter().filter(|k| s3::key_time(k).is_none()).count() as u64;
    let (listed, skipped, read) = s3_counts(&window);
    assert_eq!(listed - skipped, read);
    assert_eq!(
        read,
        in_window + undated,
        "{listed} listed, {skipped} skipped"
    );
}

fn stamp_rfc3339(time: i64) -> String {
    vpce_audit::time::rfc3339(time)
}

#[test]
fn partitioned_layout_lists_only_the_days_and_source_bucket_asked() {
    let b = new_bucket("parted");
    let mut objects = Vec::new();
    for source in ["src-a", "src-b"] {
        for day in 0..20 {
            for hour in [3, 21] {
                let t = MAY_1_2022 + day * 24 * HOUR + hour * HOUR;
                let date = chrono::DateTime::from_timestamp(t, 0)
                    .unwrap()
                    .format("%Y/%m/%d");
                let key = format!(
                    "part/123456789012/eu-west-1/{source}/{date}/{}-ABCDEF{day:02}{hour:02}",
                    stamp(t)
                );
                objects.push((key, record(source, t - 300, "52.95.1.1").into_bytes()));
            }
        }
    }
    put_all(&b, objects);
    let url = format!("s3://{b}/part/");
    let window = [
        "--since",
        "2022-05-10T12:00:00Z",
        "--until",
        "2022-05-12T00:00:00Z",
    ];

    // Days May 9..12 of src-a: 8 objects listed, May 9 03:00 skipped, 7 read.
    let mut args = window.to_vec();
    args.extend(["--bucket", "src-a", &url]);
    let (one, stderr) = s3_report(&args, 0);
    assert_eq!(s3_counts(&one), (8, 1, 7), "{stderr}");
    assert_eq!(one["summary"]["matched"], 3);
    assert_eq!(one["summary"]["buckets"], 1);
    assert_eq!(bucket(&one, "src-a")["verdict"], "public-only");

    // Without --bucket both source buckets' days are listed.
    let mut args = window.to_vec();
    args.push(&url);
    let (both, _) = s3_report(&args, 0);
    assert_eq!(s3_counts(&both), (16, 2, 14));
    assert_eq!(both["summary"]["buckets"], 2);

    // The account folder itself can be the prefix, and no window lists everything.
    let (all, _) = s3_report(&["--bucket", "src-b", &format!("{url}123456789012/")], 0);
    assert_eq!(s3_counts(&all), (40, 0, 40));
    assert_eq!(all["summary"]["matched"], 40);
}

/// Runs the binary on a large object and returns (exit code, stdout, max RSS in KiB).
fn run_measured(args: &[&str]) -> (i32, Vec<u8>, u64) {
    let s = server();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    aws_env(&mut cmd, &s.access_key, &s.secret_key);
    cmd.args(["report", "--format", "json", "--endpoint-url", &s.endpoint])
        .args(args);
    util::run_measured(cmd, None)
}

#[test]
fn a_large_object_streams_in_flat_memory() {
    let b = new_bucket("big");
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("big.log");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut lines = 0u64;
    let mut size = 0usize;
    while size < 128 << 20 {
        let line = record("big-src", MAY_1_2022 + lines as i64, "10.1.2.3");
        file.write_all(line.as_bytes()).unwrap();
        size += line.len();
        lines += 1;
    }
    file.into_inner().unwrap().sync_all().unwrap();
    runtime()
        .block_on(async {
            admin()
                .put_object()
                .bucket(&b)
                .key("2022-05-01-00-00-00-BIG")
                .body(ByteStream::from_path(&path).await.unwrap())
                .send()
                .await
        })
        .expect("upload the large object");
    drop(dir);

    let (code, stdout, max_rss_kib) = run_measured(&[&format!("s3://{b}/")]);
    assert_eq!(code, 0);
    let report = util::report_doc(&stdout);
    assert_eq!(report["summary"]["lines"], lines);
    assert_eq!(report["summary"]["bytes"], size as u64);
    assert_eq!(report["summary"]["s3"]["bytes_read"], size as u64);
    // 128 MiB went through; the process never held more than a fraction of it.
    assert!(
        max_rss_kib < 48 * 1024,
        "max RSS {max_rss_kib} KiB for a {size}-byte object"
    );
}

#[test]
fn access_denied_names_the_key_and_the_missing_permission() {
    let open = new_bucket("allowed");
    put_all(
        &open,
        vec![(
            "logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086".into(),
            std::fs::read(testdata("logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086")).unwrap(),
        )],
    );
    let locked = new_bucket("no-get");
    put_all(
        &locked,
        vec![
            (
                "logs/a".into(),
                record("x", MAY_1_2022, "10.0.0.1").into_bytes(),
            ),
            (
                "logs/b".into(),
                record("x", MAY_1_2022, "10.0.0.1").into_bytes(),
            ),
        ],
    );
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"VpceOnly","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{locked}/*","Condition":{{"StringNotEquals":{{"aws:SourceVpce":"vpce-1a2b3c4d"}}}}}}]}}"#
    );
    set_policy(&locked, &policy);

    let (report, stderr) = s3_report(
        &[
            &format!("s3://{locked}/logs/"),
            &format!("s3://{open}/logs/"),
        ],
        2,
    );
    for key in ["a", "b"] {
        assert!(
            stderr.contains(&format!(
                "vpce-audit: s3://{locked}/logs/{key}: access denied: these credentials need \
                 s3:GetObject on arn:aws:s3:::{locked}/logs/{key}"
            )),
            "{stderr}"
        );
    }
    assert_eq!(report["errors"].as_array().unwrap().len(), 2);
    assert_eq!(s3_counts(&report), (3, 0, 1));
    assert_eq!(bucket(&report, "shared-data-prod")["private"], 8);

    // The policy that denied it, fetched with GetBucketPolicy; none on the other bucket.
    let session = Session::connect(&Options {
        endpoint_url: Some(server().endpoint.clone()),
        concurrency: Some(2),
        ..Options::default()
    })
    .unwrap();
    let fetched = session.bucket_policy(&locked).unwrap().expect("a policy");
    let fetched: Value = serde_json::from_str(&fetched).unwrap();
    assert_eq!(
        fetched["Statement"][0]["Condition"]["StringNotEquals"]["aws:SourceVpce"],
        "vpce-1a2b3c4d"
    );
    assert_eq!(session.bucket_policy(&open).unwrap(), None);

    // `vpce-audit policy s3://bucket` analyses what GetBucketPolicy returns.
    let out = vpce_s3("policy")
        .args(["--format", "json", &format!("s3://{locked}")])
        .output()
        .unwrap();
    let analysis: Value = serde_json::from_slice(&out.stdout).expect("policy JSON");
    assert_eq!(analysis["bucket"], locked.as_str());
    let get = analysis["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "s3:GetObject")
        .expect("s3:GetObject analysed");
    assert_eq!(get["status"], "enforced");
    assert_eq!(get["endpoints"][0], "vpce-1a2b3c4d");
    vpce_s3("policy")
        .arg(format!("s3://{open}"))
        .assert()
        .code(2)
        .stderr(contains(format!("bucket {open} has no bucket policy")));
}

#[test]
fn check_remembers_s3_objects_by_etag_and_their_content() {
    let b = new_bucket("state");
    let violation = |t: i64| record("secure", t, "52.1.2.3").into_bytes();
    let first_key = format!("logs/{}-A", stamp(MAY_1_2022));
    put_all(&b, vec![(first_key.clone(), violation(MAY_1_2022))]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let url = format!("s3://{b}/logs/");
    let now = stamp_rfc3339(MAY_1_2022 + 2 * HOUR);
    let run = |inputs: &[&str], code: i32| -> Value {
        let out = vpce_s3("check")
            .env("VPCE_AUDIT_NOW", &now)
            .args(["--format", "json", "--require-private", "secure", "--state"])
            .arg(&state)
            .args(inputs)
            .assert()
            .code(code)
            .get_output()
            .stdout
            .clone();
        util::check_doc(&out)
    };
    let first = run(&[&url], 1);
    assert_eq!(first["summary"]["inputs"], 1);
    assert_eq!(first["summary"]["violations"], 1);
    let again = run(&[&url], 0);
    assert_eq!(
        (
            again["summary"]["inputs"].as_u64(),
            again["summary"]["inputs_skipped"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let later = MAY_1_2022 + HOUR;
    put_all(
        &b,
        vec![(format!("logs/{}-B", stamp(later)), violation(later))],
    );
    // The same object under an overlapping prefix is read once.
    let whole = format!("s3://{b}/");
    let third = run(&[&url, &whole], 1);
    assert_eq!(
        (
            third["summary"]["inputs"].as_u64(),
            third["summary"]["inputs_skipped"].as_u64(),
            third["summary"]["inputs_duplicate"].as_u64(),
            third["summary"]["violations"].as_u64()
        ),
        (Some(1), Some(1), Some(2), Some(1))
    );
    // Synced to a local folder (aws s3 sync), the logs are the same logs: known by
    // their content, not alerted again.
    let synced = tempfile::tempdir().unwrap();
    std::fs::write(synced.path().join("A"), violation(MAY_1_2022)).unwrap();
    std::fs::write(synced.path().join("B.gz"), gzip(&violation(later))).unwrap();
    let local = run(&[synced.path().to_str().unwrap()], 0);
    assert_eq!(
        (
            local["summary"]["violations"].as_u64(),
            local["summary"]["inputs_skipped"].as_u64()
        ),
        (Some(0), Some(2))
    );
    assert_eq!(local["buckets"][0]["total"]["violations"], 2);
}

#[test]
fn listing_denied_names_the_bucket_and_s3_list_bucket() {
    let locked = new_bucket("no-list");
    put_all(&locked, vec![("k".into(), b"x".to_vec())]);
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{locked}"}}]}}"#
    );
    set_policy(&locked, &policy);
    let url = format!("s3://{locked}/");
    vpce_s3("report")
        .args([&url, "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains(format!(
            "vpce-audit: {url}: access denied: these credentials need s3:ListBucket on \
             arn:aws:s3:::{locked}"
        )));
    // With a state as well: the run fails and names the listing, rather than passing
    // on the logs it could read.
    let dir = tempfile::tempdir().unwrap();
    vpce_s3("check")
        .args(["--require-private", "shared-data-prod", "--state"])
        .arg(dir.path().join("state.json"))
        .args([&url, "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains(format!(
            "{url}: access denied: these credentials need s3:ListBucket on \
             arn:aws:s3:::{locked}"
        )));
}

#[test]
fn wrong_or_missing_credentials_are_explained() {
    let s = server();
    let url = "s3://any-bucket/logs/";
    let run = |access: Option<&str>, secret: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
        aws_env(&mut cmd, access.unwrap_or(""), secret.unwrap_or(""));
        if access.is_none() {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        let out = assert_cmd::Command::from_std(cmd)
            .args(["report", "--endpoint-url", &s.endpoint, url])
            .assert()
            .code(2)
            .get_output()
            .clone();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let wrong_secret = run(Some(&s.access_key), Some("not-the-secret"));
    assert!(
        wrong_secret.contains(&format!(
            "vpce-audit: {url}: the request signature does not match: the secret access key \
             is wrong"
        )),
        "{wrong_secret}"
    );
    let unknown_key = run(Some("AKIAUNKNOWNKEY000000"), Some("whatever"));
    assert!(
        unknown_key.contains(&format!(
            "vpce-audit: {url}: S3 does not know the access key ID of these credentials"
        )),
        "{unknown_key}"
    );
    let none = run(None, None);
    assert!(
        none.contains(&format!("vpce-audit: {url}: no AWS credentials found")),
        "{none}"
    );
}

#[test]
fn a_missing_bucket_is_named_and_the_rest_is_read() {
    let (report, stderr) = s3_report(
        &["s3://no-such-bucket-vpce-audit/logs/", "testdata/logs"],
        2,
    );
    assert!(
        stderr.contains(
            "vpce-audit: s3://no-such-bucket-vpce-audit/logs/: bucket no-such-bucket-vpce-audit does not exist"
        ),
        "{stderr}"
    );
    assert_eq!(report["summary"]["inputs"], 4);
    assert_eq!(s3_counts(&report), (0, 0, 0));
}

/// An S3 stand-in on 127.0.0.1 with a listing of two pages (`logs/a`, then `logs/b`)
/// and GetObject answering one log line. `looping`: the second page again says there
/// is more, under the same continuation token. Otherwise the second page is answered
/// only once an object has been fetched (HTTP 500 after 20 s without one).
fn two_page_server(looping: bool) -> String {
    use std::io::{BufRead, BufReader, Read};
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let fetched = std::sync::Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let fetched = fetched.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut head = String::new();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = n.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let second = head.contains("continuation-token");
                    if second && !looping {
                        let waited = std::time::Instant::now();
                        while !fetched.load(Ordering::SeqCst) && waited.elapsed().as_secs() < 20 {
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                    }
                    let status = if second && !looping && !fetched.load(Ordering::SeqCst) {
                        "500 Internal Server Error"
                    } else {
                        "200 OK"
                    };
                    let answer = if head.contains("list-type=2") {
                        let key = if second { "logs/b" } else { "logs/a" };
                        let more = !second || looping;
                        format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>loop</Name>\
                             <Prefix>logs/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>\
                             <IsTruncated>{more}</IsTruncated><NextContinuationToken>again</NextContinuationToken>\
                             <Contents><Key>{key}</Key><Size>10</Size><ETag>\"e\"</ETag></Contents></ListBucketResult>"
                        )
                    } else {
                        fetched.store(true, Ordering::SeqCst);
                        fetched.store(true, Ordering::SeqCst);
                        record("looped", MAY_1_2022, "10.0.0.1")
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                    if std::io::Write::write_all(&mut writer, response.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn objects_are_fetched_while_the_listing_goes_on() {
    // The second page comes only after an object was fetched: a reader that waited for
    // the whole listing would never get it.
    let endpoint = two_page_server(false);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    aws_env(&mut cmd, "key", "secret");
    let out = assert_cmd::Command::from_std(cmd)
        .args([
            "report",
            "--format",
            "json",
            "--endpoint-url",
            &endpoint,
            "s3://gated/logs/",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let report = util::report_doc(&out.stdout);
    assert_eq!(s3_counts(&report), (2, 0, 2));
}

#[test]
fn a_listing_that_loops_is_an_input_error_after_what_it_listed() {
    let endpoint = two_page_server(true);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    aws_env(&mut cmd, "key", "secret");
    let out = assert_cmd::Command::from_std(cmd)
        .args([
            "report",
            "--format",
            "json",
            "--endpoint-url",
            &endpoint,
            "s3://loop/logs/",
        ])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "vpce-audit: s3://loop/logs/: S3 gave the same continuation token twice; the listing loops"
        ),
        "{stderr}"
    );
    // The two objects listed before the loop showed were read.
    let report = util::report_doc(&out.stdout);
    assert_eq!(s3_counts(&report), (2, 0, 2));
    assert_eq!(report["summary"]["lines"], 2);
}

#[test]
fn an_unreachable_endpoint_is_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    aws_env(&mut cmd, "key", "secret");
    assert_cmd::Command::from_std(cmd)
        .args([
            "report",
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "s3://logs/",
        ])
        .assert()
        .code(2)
        .stderr(contains("vpce-audit: s3://logs/: could not reach S3: "));
}

#[test]
fn policy_of_a_missing_bucket_is_an_error() {
    // The library entry point used by `vpce-audit policy s3://bucket`.
    let location = s3::Location::parse("s3://no-such-policy-bucket").unwrap();
    let session = Session::connect(&Options {
        endpoint_url: Some(server().endpoint.clone()),
        concurrency: Some(1),
        ..Options::default()
    })
    .unwrap();
    let e = session.bucket_policy(&location.bucket).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoSuchBucket);
    assert_eq!(e.to_string(), "bucket no-such-policy-bucket does not exist");
}

#[test]
fn hostile_keys_are_escaped_in_messages() {
    let b = new_bucket("hostile-keys");
    // C1 CSI (U+009B, `ESC [` to many terminals) and a right-to-left override: both
    // are valid in S3 keys and in the XML of a listing.
    let lines = record("shared", MAY_1_2022, "10.0.0.1").repeat(2000);
    let gz = gzip(lines.as_bytes());
    put_all(
        &b,
        vec![
            (
                "logs/\u{9b}31m\u{202e}zg.gol".to_string(),
                gz[..gz.len() / 2].to_vec(),
            ),
            ("logs/\u{202e}txt.log".to_string(), b"garbage\n".to_vec()),
        ],
    );
    let url = format!("s3://{b}/logs/");
    let (report, stderr) = s3_report(&[&url], 2);
    assert!(
        !stderr.contains(['\u{9b}', '\u{202e}']),
        "raw controls on stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "vpce-audit: s3://{b}/logs/\\u{{9b}}31m\\u{{202e}}zg.gol: read failed after line "
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("s3://{b}/logs/\\u{{202e}}txt.log:1: rejected: ")),
        "{stderr}"
    );
    // JSON carries the key as it is.
    assert_eq!(
        report["errors"][0]["source"],
        format!("s3://{b}/logs/\u{9b}31m\u{202e}zg.gol")
    );
    assert_eq!(report["summary"]["rejected"], 1);
}
