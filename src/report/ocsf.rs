//! `check --format ocsf`: the check as OCSF Detection Findings (class 2004, schema
//! 1.5.0), the JSON that AWS Security Hub and Amazon Security Lake ingest and that
//! SIEMs map: one finding per finding about the run (missing evidence, warnings), per
//! violation, contradiction, refused attempt and request denied through the endpoint.
//!
//! Each request finding carries what joins it to other evidence: the S3 request id
//! (`api.request.uid`, the `requestID` of CloudTrail), the time, the bucket as an
//! `AWS::S3::Bucket` resource, the remote address and requester as observables, and
//! the whole logged request with its `source` and `line` as evidence data. Finding ids
//! are stable across runs, so a consumer can deduplicate them.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use super::check::{outcome_name, CheckReport};
use crate::check::evidence::Finding;
use crate::check::Flagged;
use crate::time::parse_rfc3339;

/// The OCSF schema version the findings follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// OCSF severities: 1 informational, 2 low, 3 medium, 4 high.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Severity {
    Informational = 1,
    Low = 2,
    Medium = 3,
    High = 4,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
        }
    }
}

/// Writes every finding of `report` as one JSON array of Detection Findings; `now`
/// (seconds since the epoch) dates the findings about the run.
pub fn write(report: &CheckReport, now: i64, out: &mut dyn Write) -> io::Result<()> {
    let mut all: Vec<Value> = report
        .findings
        .iter()
        .map(|f| run_finding(f, now))
        .collect();
    let private_denied_fails = report
        .findings
        .iter()
        .any(|f| f.kind == crate::check::evidence::Kind::PrivateDenied && f.fails);
    for (kind, f) in report.flagged() {
        let severity = match kind {
            "violation" | "contradiction" => Severity::High,
            "private_denied" if private_denied_fails => Severity::Medium,
            "private_denied" => Severity::Low,
            _ => Severity::Informational,
        };
        all.push(request_finding(kind, f, severity));
    }
    crate::escape::write_json(&mut *out, &all, true)?;
    out.write_all(b"\n")
}

/// The frame every finding shares.
fn frame(
    uid: String,
    title: String,
    desc: String,
    kind: &str,
    severity: Severity,
    time_ms: i64,
) -> Map<String, Value> {
    let value = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200_401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity as u8,
        "severity": severity.name(),
        "status_id": 1,
        "status": "New",
        "time": time_ms,
        "message": title,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": env!("CARGO_PKG_NAME"),
                "vendor_name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": desc,
            "types": [kind],
            "data_sources": ["Amazon S3 server access logs"],
        },
        "cloud": { "provider": "AWS" },
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A finding about the run as a whole.
fn run_finding(f: &Finding, now: i64) -> Value {
    let severity = if f.fails {
        Severity::Medium
    } else {
        Severity::Low
    };
    let title = format!("{}: {}", f.kind.name(), f.subject);
    let mut m = frame(
        format!("vpce-audit:{}:{}", f.kind.name(), f.subject),
        title,
        f.reason.clone(),
        f.kind.name(),
        severity,
        now.saturating_mul(1000),
    );
    if let Some(bucket) = f.subject.strip_prefix("bucket ") {
        m.insert("resources".into(), json!([bucket_resource(bucket)]));
    }
    m.insert(
        "remediation".into(),
        json!({ "desc": "See docs/check.md of vpce-audit: what each finding means and what to do." }),
    );
    Value::Object(m)
}

/// A finding about one logged request.
fn request_finding(kind: &str, f: &Flagged, severity: Severity) -> Value {
    let time = parse_rfc3339(&f.time).unwrap_or(0);
    let id = f
        .request_id
        .clone()
        .unwrap_or_else(|| format!("{}:{}", f.source, f.line));
    let from = f.remote_ip.as_deref().unwrap_or("no remote IP (S3 itself)");
    let who = f.requester.as_deref().unwrap_or("anonymous");
    let operation = f.operation.as_deref().unwrap_or("-");
    let (title, remedy) = match kind {
        "violation" => (
            format!("{operation} on {} from the internet ({from}) was let through", f.bucket),
            "Find the requester's route: a deleted VPC endpoint, a route table without it, a subnet whose default route is a NAT or internet gateway; then deny requests from outside the endpoint in the bucket policy.",
        ),
        "contradiction" => (
            format!("{operation} on {} from {from} succeeded although the bucket policy denies it", f.bucket),
            "The policy was not in force when the request was made, the file is not the policy attached, or the VPC uses addresses outside the private ranges (--vpc-cidr).",
        ),
        "private_denied" => (
            format!("{operation} on {} through the VPC endpoint ({from}) was denied", f.bucket),
            "Does the bucket policy name the right vpce id, and does the endpoint policy allow this action?",
        ),
        "rejected" => (
            format!("{operation} on {} from the internet ({from}) was refused before any policy", f.bucket),
            "Refused for its signature, key or token: no proof the bucket policy works; find out who sends it.",
        ),
        _ => (
            format!("{operation} on {} from the internet ({from}) was denied by a policy", f.bucket),
            "The bucket policy turned it away; the caller's route to the endpoint may be gone.",
        ),
    };
    let desc = format!(
        "{title}: requester {who} (account {}), HTTP {}, error code {}; {}:{}",
        f.account,
        f.status.map_or("-".to_string(), |s| s.to_string()),
        f.error_code.as_deref().unwrap_or("-"),
        f.source,
        f.line
    );
    let mut m = frame(
        format!("vpce-audit:{kind}:{}:{id}", f.bucket),
        title,
        desc,
        kind,
        severity,
        time.saturating_mul(1000),
    );
    m.insert("resources".into(), json!([bucket_resource(&f.bucket)]));
    let mut api = json!({ "operation": operation });
    if let Some(rid) = &f.request_id {
        api["request"] = json!({ "uid": rid });
    }
    let mut response = Map::new();
    if let Some(code) = f.status {
        response.insert("code".into(), json!(code));
    }
    if let Some(error) = &f.error_code {
        response.insert("error".into(), json!(error));
    }
    if !response.is_empty() {
        api["response"] = Value::Object(response);
    }
    m.insert("api".into(), api);
    let mut observables = Vec::new();
    if let Some(ip) = &f.remote_ip {
        observables
            .push(json!({ "name": "remote_ip", "type_id": 2, "type": "IP Address", "value": ip }));
    }
    if let Some(r) = &f.requester {
        observables.push(
            json!({ "name": "requester", "type_id": 10, "type": "Resource UID", "value": r }),
        );
    }
    observables
        .push(json!({ "name": "account", "type_id": 99, "type": "Other", "value": f.account }));
    m.insert("observables".into(), Value::Array(observables));
    m.insert(
        "evidences".into(),
        json!([{ "data": {
            "time": f.time,
            "bucket": f.bucket,
            "remote_ip": f.remote_ip,
            "class": f.class.name(),
            "outcome": outcome_name(f.outcome),
            "requester": f.requester,
            "account": f.account,
            "operation": f.operation,
            "key": f.key,
            "status": f.status,
            "error_code": f.error_code,
            "request_id": f.request_id,
            "source": f.source,
            "line": f.line,
            "action": f.action,
            "statement": f.statement,
        }}]),
    );
    m.insert("remediation".into(), json!({ "desc": remedy }));
    Value::Object(m)
}

/// A bucket as an OCSF resource.
fn bucket_resource(bucket: &str) -> Value {
    json!({
        "type": "AWS::S3::Bucket",
        "uid": format!("arn:aws:s3:::{bucket}"),
        "name": bucket,
    })
}
