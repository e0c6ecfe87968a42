//! CloudTrail evidence end to end: events read beside access logs, by content, joined on
//! the request id; endpoints, changes, AWS ranges; check and Athena on CloudTrail.

use std::fs;
use std::io::Write;

use serde_json::{json, Value};

use crate::util::{bucket, check_json, gzip, report_json, requests_ndjson, testdata, vpce};

const V1: &str = "vpce-0a1b2c3d4e5f60718";
const V2: &str = "vpce-0f9e8d7c6b5a43210";

fn path(rel: &str) -> String {
    testdata(rel).display().to_string()
}

/// One S3 data event, as CloudTrail writes it.
fn event(time: &str, id: &str, ip: &str, vpce: Option<&str>) -> Value {
    let mut e = json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-1"},
        "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
        "awsRegion": "ap-northeast-2", "sourceIPAddress": ip,
        "requestParameters": {"bucketName": "shared-data-prod", "key": "a.parquet"},
        "additionalEventData": {"bytesTransferredOut": 10.0},
        "requestID": id, "eventType": "AwsApiCall", "eventCategory": "Data"
    });
    if let Some(v) = vpce {
        e["vpcEndpointId"] = json!(v);
        e["vpcEndpointAccountId"] = json!("111122223333");
    }
    e
}

fn records(events: &[Value]) -> String {
    json!({ "Records": events }).to_string()
}

#[test]
fn a_gzipped_trail_counts_the_endpoint_the_address_and_the_service() {
    // Two events through the endpoint, one from the NAT's address, one by Athena: the
    // same bucket and hour.
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct");
    fs::create_dir(&ct).unwrap();
    fs::copy(
        testdata("cloudtrail/data-events.json.gz"),
        ct.join("111122223333_CloudTrail_ap-northeast-2_20220509T1045Z.json.gz"),
    )
    .unwrap();
    let r = report_json(&[&ct.display().to_string()], 0);
    let s = &r["summary"];
    assert_eq!(
        (s["lines"].as_u64(), s["parsed"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(
        s["skipped_events"], 1,
        "the KMS event is skipped, not rejected"
    );
    assert_eq!(s["cloudtrail"]["inputs"], 1);
    let b = bucket(&r, "shared-data-prod");
    let w = &b["timeline"][0];
    assert_eq!(w["start"], "2022-05-09T10:00:00Z");
    assert_eq!(
        (
            w["private"].as_u64(),
            w["public"].as_u64(),
            w["internal"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(b["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(
        b["endpoints"],
        json!([{"id": V1, "account": "111122223333", "requests": 2, "denied": 0,
                "first_seen": "2022-05-09T10:02:11Z", "last_seen": "2022-05-09T10:05:40Z"}])
    );
    assert_eq!(b["region"], "ap-northeast-2");
    assert_eq!(b["bytes_sent"], 48213 + 48214 + 48219 + 48215);
}

#[test]
fn exports_envelopes_and_ipv6_are_read_and_the_endpoint_decides() {
    let r = report_json(&[&path("cloudtrail/export.ndjson")], 0);
    assert_eq!(r["summary"]["skipped_events"], 1, "STS");
    let b = bucket(&r, "shared-data-prod");
    // A global IPv6 address through the endpoint is private; the same without it is
    // public; the EventBridge envelope's event counts.
    assert_eq!(
        (b["private"].as_u64(), b["public"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(b["endpoints"][0]["id"], V2);
    assert_eq!(b["endpoints"][0]["requests"], 2);
    let rows = requests_ndjson(&[&path("cloudtrail/export.ndjson")]);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["remote_ip"], "2600:1f18:4a3:6f00::1c");
    assert_eq!(
        (
            rows[0]["class"].as_str(),
            rows[0]["vpc_endpoint_id"].as_str()
        ),
        (Some("private"), Some(V2))
    );
    assert_eq!(
        (rows[1]["class"].as_str(), &rows[1]["vpc_endpoint_id"]),
        (Some("public"), &Value::Null)
    );
    assert_eq!(rows[1]["line"], 3, "the event's number in the input");
    assert_eq!(rows[1]["operation"], "GetObject");
}

#[test]
fn endpoint_policy_denials_are_counted_apart() {
    let r = report_json(&[&path("cloudtrail/network-activity.json")], 0);
    let b = bucket(&r, "shared-data-prod");
    // The allowed network activity event and the denied one; nothing else.
    assert_eq!(
        (b["private"].as_u64(), b["private_denied"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(b["endpoint_policy_denied"], 1);
    assert_eq!(b["endpoints"][0]["denied"], 1);
    let warnings = b["warnings"].to_string();
    assert!(
        warnings.contains("denied by the VPC endpoint's own policy (VpceAccessDenied)"),
        "{warnings}"
    );
    assert!(
        !warnings.contains("HTTP 403 AccessDenied"),
        "not an AccessDenied: {warnings}"
    );
}

#[test]
fn access_logs_and_cloudtrail_count_each_request_once() {
    let logs = report_json(&[&path("logs")], 0);
    let both = report_json(&[&path("logs"), &path("cloudtrail")], 0);
    // CloudTrail given first, or standard input: the same join.
    let reversed = report_json(&[&path("cloudtrail"), &path("logs")], 0);
    assert_eq!(both["buckets"], reversed["buckets"]);
    let alone = bucket(&logs, "shared-data-prod");
    let b = bucket(&both, "shared-data-prod");
    // Three requests are in both logs (two through the endpoint, one from the NAT);
    // CloudTrail alone has Athena's, the endpoint-policy denial, the policy change and
    // the export's three, and its network activity event for a data event is the same
    // request.
    assert_eq!(alone["requests"], 20);
    assert_eq!(b["requests"], 20 + 1 + 1 + 1 + 3);
    let j = &both["summary"]["cloudtrail"]["join"];
    assert_eq!(
        (
            j["joined"].as_u64(),
            j["joined_with_endpoint"].as_u64(),
            j["duplicates"].as_u64(),
            j["unjoined"].as_u64()
        ),
        (Some(3), Some(2), Some(1), Some(0))
    );
    assert_eq!(both["summary"]["cloudtrail"]["attribution"], "complete");
    // The access log records that found their event carry its endpoint.
    let e1 = b["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == V1)
        .unwrap();
    assert_eq!(
        (e1["requests"].as_u64(), e1["denied"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(e1["first_seen"], "2022-05-09T10:02:11Z");
    assert_eq!(both["summary"]["matched"], both["summary"]["requests"]);
    let s = &both["summary"];
    assert_eq!(
        s["lines"].as_u64().unwrap(),
        s["parsed"].as_u64().unwrap() + s["rejected"].as_u64().unwrap()
    );
    // From standard input, mixed with files.
    let trail = fs::read(testdata("cloudtrail/data-events.json.gz")).unwrap();
    let out = vpce()
        .args(["report", "--format", "json", "-"])
        .arg(path("logs"))
        .write_stdin(trail)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let piped = crate::util::report_doc(&out);
    assert_eq!(piped["summary"]["cloudtrail"]["join"]["joined"], 3);
    assert_eq!(bucket(&piped, "shared-data-prod")["requests"], 21);
}

#[test]
fn changes_are_markers_and_name_the_likely_cause() {
    let r = report_json(&[&path("logs"), &path("cloudtrail")], 0);
    let b = bucket(&r, "shared-data-prod");
    let events: Vec<&str> = b["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["DeleteVpcEndpoints", "PutBucketPolicy", "CreateVpcEndpoint"]
    );
    assert_eq!(b["changes"][0]["endpoints"], json!([V1]));
    assert_eq!(
        b["changes"][0]["by"],
        "arn:aws:iam::111122223333:user/network-admin"
    );
    assert_eq!(
        b["transitions"][0]["likely_cause"],
        json!({"event": "DeleteVpcEndpoints", "time": "2022-05-09T10:31:50Z", "endpoints": [V1]})
    );
    assert_eq!(
        b["transitions"][1]["likely_cause"],
        Value::Null,
        "back to the endpoint"
    );
    assert_eq!(r["changes"], json!([]));
    // Without endpoint evidence the deletion belongs to no bucket: listed once, and
    // still the likely cause of the move to the internet.
    let bare = report_json(&[&path("logs"), &path("cloudtrail/management.json")], 0);
    let loose: Vec<&str> = bare["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["event"].as_str().unwrap())
        .collect();
    assert_eq!(loose, ["DeleteVpcEndpoints", "CreateVpcEndpoint"]);
    let b = bucket(&bare, "shared-data-prod");
    assert_eq!(
        b["transitions"][0]["likely_cause"]["event"],
        "DeleteVpcEndpoints"
    );
    let table = vpce()
        .args(["report", &path("logs"), &path("cloudtrail")])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("DeleteVpcEndpoints 10:31:50"),
        "timeline marker:\n{table}"
    );
    assert!(table.contains("VPC endpoints that carried requests (CloudTrail):"));
    assert!(table.contains("DeleteVpcEndpoints vpce-0a1b2c3d4e5f60718 at 2022-05-09T10:31:50Z"));
}

#[test]
fn broken_trails_are_rejected_with_the_event_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        event(
            "2022-05-09T10:00:00Z",
            "AAAA000000000001",
            "10.0.0.1",
            Some(V1),
        ),
        event(
            "2022-05-09T10:00:01Z",
            "AAAA000000000002",
            "52.79.54.241",
            None,
        ),
    ];
    let whole = records(&good);
    let mut wrong = good[1].clone();
    wrong["eventTime"] = json!(1652090400);
    let cases = [
        (
            "truncated.json",
            whole[..whole.len() - 40].to_string(),
            1,
            "event 2: the stream ends inside it",
        ),
        (
            "not-an-array.json",
            "{\"Records\": \"x\"}".to_string(),
            0,
            "Records is a string, not an array of events",
        ),
        (
            "wrong-type.json",
            records(&[good[0].clone(), wrong, good[0].clone()]),
            2,
            "event 2: eventTime is a number, not a string",
        ),
        (
            "garbage-event.json",
            records(&[json!(42), good[1].clone()]),
            1,
            "event 1: the event is a number, not an object",
        ),
    ];
    for (name, text, parsed, reason) in &cases {
        let file = dir.path().join(name);
        fs::write(&file, text).unwrap();
        let r = report_json(&[&file.display().to_string()], 0);
        let s = &r["summary"];
        assert_eq!(s["parsed"].as_u64(), Some(*parsed), "{name}");
        assert_eq!(s["rejected"], 1, "{name}");
        let rejection = &r["rejections"][0];
        assert!(
            rejection["reason"].as_str().unwrap().contains(reason),
            "{name}: {rejection}"
        );
        assert_eq!(rejection["source"], file.display().to_string());
        vpce()
            .args(["report", "--strict", "-q"])
            .arg(&file)
            .assert()
            .code(2);
    }
    // A 10 MB event is rejected unbuffered; the events after it are read.
    let mut huge = good[0].clone();
    huge["requestParameters"]["key"] = json!("k".repeat(10 << 20));
    let file = dir.path().join("huge.json");
    fs::write(&file, records(&[huge, good[1].clone()])).unwrap();
    let r = report_json(&[&file.display().to_string()], 0);
    assert_eq!(
        (
            r["summary"]["parsed"].as_u64(),
            r["summary"]["rejected"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let reason = r["rejections"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("event 1: ") && reason.contains("longer than the 1024 KiB limit"),
        "{reason}"
    );
    // A gzip stream cut short is an input error after the events before it.
    let gz = gzip(records(&vec![good[0].clone(); 2000]).as_bytes());
    let file = dir.path().join("cut.json.gz");
    fs::write(&file, &gz[..gz.len() / 2]).unwrap();
    let r = report_json(&[&file.display().to_string()], 2);
    assert!(r["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("read failed after event"));
}

#[test]
fn public_addresses_get_their_aws_range() {
    let ranges = path("aws/ip-ranges.json");
    let r = report_json(
        &[
            "--aws-ip-ranges",
            &ranges,
            &path("logs"),
            &path("cloudtrail/export.ndjson"),
        ],
        0,
    );
    let b = bucket(&r, "shared-data-prod");
    assert_eq!(
        b["top_public_ips"][0],
        json!({"name": "52.79.54.241", "requests": 8, "aws": "EC2 ap-northeast-2"})
    );
    assert_eq!(b["top_public_ips"][1]["aws"], "EC2 eu-west-1");
    assert_eq!(
        b["public_networks"],
        json!({"region": "ap-northeast-2", "ec2_same_region": 8, "other_aws": 1, "outside_aws": 0, "not_looked_up": 0})
    );
    assert_eq!(b["transitions"][0]["aws"], "EC2 ap-northeast-2");
    assert!(b["warnings"]
        .to_string()
        .contains("EC2 addresses of ap-northeast-2"));
    assert_eq!(r["summary"]["aws_ranges"]["prefixes"], 12);
    // Access logs alone: the region comes from the host header.
    let logs = report_json(&["--aws-ip-ranges", &ranges, &path("logs")], 0);
    assert_eq!(
        bucket(&logs, "shared-data-prod")["public_networks"]["region"],
        "ap-northeast-2"
    );
    let rows = requests_ndjson(&["--aws-ip-ranges", &ranges, &path("logs")]);
    let public: Vec<&Value> = rows.iter().filter(|r| r["class"] == "public").collect();
    assert!(public
        .iter()
        .all(|r| r["aws_service"] == "EC2" && r["aws_region"] == "ap-northeast-2"));
    let private = rows.iter().find(|r| r["class"] == "private").unwrap();
    assert_eq!(
        (&private["aws_service"], &private["aws_region"]),
        (&Value::Null, &Value::Null)
    );
    // A file that is not AWS's ranges is a usage error.
    vpce()
        .args(["report", "--aws-ip-ranges"])
        .arg(path("policies/enforced.json"))
        .arg(path("logs"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not AWS's ip-ranges.json"));
}

#[test]
fn check_knows_allowed_endpoints_and_endpoint_policy_denials() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    fs::write(
        &rules,
        format!("allowed_vpce = [\"{V1}\"]\n[[bucket]]\nname = \"shared-*\"\n"),
    )
    .unwrap();
    let (code, r) = check_json(&[
        "--policy",
        &rules.display().to_string(),
        &path("cloudtrail"),
    ]);
    assert_eq!(code, 1);
    let s = &r["summary"];
    // No access log to join: every S3 request of the CloudTrail files is judged on
    // its own, and counted.
    assert_eq!(
        (s["matched"].as_u64(), s["requests"].as_u64()),
        (Some(9), Some(9))
    );
    // Through the other endpoint: two; the NAT's and the IPv6 public read: two more.
    assert_eq!(s["foreign_endpoint"], 2);
    assert_eq!(s["violations"], 4);
    assert_eq!(s["blocked"], 1, "the VpceAccessDenied");
    let foreign: Vec<&Value> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["class"] == "private")
        .collect();
    assert_eq!(foreign.len(), 2);
    assert!(foreign.iter().all(|v| v["vpc_endpoint_id"] == V2));
    // Allowed for the bucket: no foreign endpoint left.
    fs::write(
        &rules,
        format!("allowed_vpce = [\"{V1}\"]\n[[bucket]]\nname = \"shared-*\"\nallowed_vpce = [\"{V2}\"]\n"),
    )
    .unwrap();
    let (_, r) = check_json(&[
        "--policy",
        &rules.display().to_string(),
        &path("cloudtrail"),
    ]);
    assert_eq!(r["summary"]["foreign_endpoint"], 0);
}

#[test]
fn the_bucket_policy_cross_check_dates_the_policy_and_flags_unlisted_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.json");
    let text = fs::read_to_string(testdata("policies/enforced.json"))
        .unwrap()
        .replace(
            "[\"vpce-0a1b2c3d4e5f67890\", \"vpce-0fedcba9876543210\"]",
            &format!("\"{V1}\""),
        );
    fs::write(&policy, text).unwrap();
    let (code, r) = check_json(&[
        "--require-private",
        "shared-*",
        "--bucket-policy",
        &policy.display().to_string(),
        &path("logs"),
        &path("cloudtrail"),
    ]);
    assert_eq!(code, 1);
    let p = &r["bucket_policy"];
    assert_eq!(
        p["effective_from"], "2022-05-09T11:04:30Z",
        "PutBucketPolicy in CloudTrail"
    );
    assert_eq!(
        p["endpoints_not_allowed"],
        json!([{"bucket": "shared-data-prod", "endpoint": V2, "requests": 2}])
    );
    // Before 11:04:30 nothing is cross-checked (the NAT's reads of 10:32-10:55 are
    // violations, not contradictions); after it, the two reads through the unlisted
    // endpoint and the public IPv6 read contradict the policy.
    let contradictions = r["contradictions"].as_array().unwrap();
    assert_eq!(contradictions.len(), 3, "{contradictions:?}");
    assert!(contradictions
        .iter()
        .all(|c| c["time"].as_str().unwrap() > "2022-05-09T11:04:30Z"));
    let (_, without) = check_json(&[
        "--require-private",
        "shared-*",
        "--bucket-policy",
        &policy.display().to_string(),
        &path("logs"),
    ]);
    assert_eq!(without["bucket_policy"]["effective_from"], Value::Null);
    assert_eq!(
        without["summary"]["contradictions"], 5,
        "every public success, undated"
    );
}

#[test]
fn athena_writes_the_cloudtrail_table_and_its_breakdown() {
    let ddl = vpce()
        .args([
            "athena",
            "ddl",
            "--cloudtrail",
            "--location",
            "s3://trail/AWSLogs/111122223333/CloudTrail/ap-northeast-2/",
            "--from",
            "2022-05-01",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ddl = String::from_utf8(ddl).unwrap();
    assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `default`.`cloudtrail_logs` ("));
    assert!(ddl.contains("'projection.timestamp.range' = '2022/05/01,NOW'"));
    vpce()
        .args([
            "athena",
            "ddl",
            "--cloudtrail",
            "--location",
            "s3://trail/x/",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--from with --cloudtrail"));
    let sql = vpce()
        .args(["athena", "query", "--cloudtrail", "--since", "2022-05-09"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sql = String::from_utf8(sql).unwrap();
    assert!(sql.contains("FROM \"default\".\"cloudtrail_logs\""));
    assert!(sql.contains("'endpoint'"));
    assert!(sql.contains("\"timestamp\" >= '2022/05/08'"));
}

#[test]
fn requests_list_each_source_as_read() {
    let mut trail = tempfile::NamedTempFile::new().unwrap();
    trail
        .write_all(records(&[event("2022-05-09T10:00:00Z", "A1", "10.0.0.9", Some(V1))]).as_bytes())
        .unwrap();
    let rows = requests_ndjson(&[&trail.path().display().to_string()]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["vpc_endpoint_id"], V1);
    assert_eq!(rows[0]["bytes_sent"], 10);
    assert_eq!(
        rows[0]["http_status"],
        Value::Null,
        "CloudTrail records no status"
    );
}

#[test]
fn generated_trails_and_ranges_read_back() {
    use vpce_audit::input::events::{for_each_event, Event};
    let mut trail = Vec::new();
    vpce_audit::synth::write_cloudtrail(&mut trail, 3, 500).unwrap();
    let mut requests = 0;
    let events = for_each_event(&trail[..], |_, e| {
        if let Event::Json(json) = e {
            requests += u64::from(
                vpce_audit::cloudtrail::parse_event(json)
                    .unwrap()
                    .request
                    .is_some(),
            );
        }
        true
    });
    assert_eq!(events.ok(), Some(trail.len() as u64));
    assert!((400..500).contains(&requests), "{requests}");
    let mut ranges = Vec::new();
    vpce_audit::synth::write_ip_ranges(&mut ranges, 3, 10_000).unwrap();
    let ranges =
        vpce_audit::ipranges::AwsRanges::parse(std::str::from_utf8(&ranges).unwrap()).unwrap();
    assert_eq!(ranges.prefixes, 10_001);
    assert_eq!(
        ranges.describe("52.79.3.241".parse().unwrap()),
        "EC2 ap-northeast-2"
    );
}

#[test]
fn a_large_trail_is_read_event_by_event_in_bounded_memory() {
    // 60,000 data events, about 84 MB in one `Records` array on one line, from a pipe:
    // held as one JSON tree, it would take several times that.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    cmd.args(["report", "--format", "json", "-"]);
    let feed: crate::util::Feed = Box::new(|w| {
        let mut counted = CountingWriter(w, 0);
        let _ = vpce_audit::synth::write_cloudtrail(&mut counted, 11, 60_000);
        assert!(counted.1 > 80 << 20, "{} bytes", counted.1);
    });
    let (code, out, peak_kib) = crate::util::run_measured(cmd, Some(feed));
    assert_eq!(code, 0);
    let r = crate::util::report_doc(&out);
    let s = &r["summary"];
    assert_eq!(s["rejected"], 0);
    assert_eq!(
        s["parsed"].as_u64().unwrap() + s["skipped_events"].as_u64().unwrap(),
        60_000
    );
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
}

/// Counts the bytes written through it.
struct CountingWriter<'w>(&'w mut dyn Write, u64);

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1 += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
