//! The JSON contract: `docs/report.schema.json` and `docs/check.schema.json`. Every
//! `--format json` document the other tests produce is validated against its schema
//! (`util::report_doc`, `util::check_doc`); these tests make sure that validation bites
//! and that the schemas stay closed.

use serde_json::{json, Value};

use crate::util::{check_json, report_json, Doc};

/// `doc` with `change` applied must break `schema`, and the first violation must name
/// `expected`.
fn assert_breaks(schema: Doc, doc: &Value, change: impl FnOnce(&mut Value), expected: &str) {
    let mut broken = doc.clone();
    change(&mut broken);
    assert_ne!(&broken, doc, "the change changed nothing");
    let violations = schema.violations(&broken);
    assert!(
        violations.iter().any(|v| v.contains(expected)),
        "{schema:?} document broken for {expected:?}, yet: {violations:?}"
    );
}

#[test]
fn a_broken_report_fails_validation() {
    let report = report_json(&["testdata/logs"], 0);
    assert!(Doc::Report.violations(&report).is_empty());
    // A missing key, a verdict that does not exist, a key that is not in the model, a
    // count that is not a count, another layout version.
    assert_breaks(
        Doc::Report,
        &report,
        |r| {
            r["summary"].as_object_mut().unwrap().remove("lines");
        },
        "\"lines\" is a required property",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["buckets"][0]["verdict"] = json!("mostly-private"),
        "/buckets/0/verdict",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["buckets"][1]["timeline"][0]["extra"] = json!(1),
        "/buckets/1/timeline/0",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["summary"]["parsed"] = json!(-1),
        "/summary/parsed",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["summary"]["first"] = json!("2022-05-09 10:02:11"),
        "/summary/first",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["buckets"][0]["transitions"][0]["to"] = json!("private"),
        "/buckets/0/transitions/0",
    );
    assert_breaks(
        Doc::Report,
        &report,
        |r| r["schema_version"] = json!(1),
        "/schema_version",
    );

    // The Athena variant: what it lists as not available must be empty.
    let athena = report_json(&["--from-athena", "testdata/athena/blog-post-15m.csv"], 0);
    assert!(Doc::Report.violations(&athena).is_empty());
    assert_breaks(
        Doc::Report,
        &athena,
        |r| r["summary"]["bytes"] = report["summary"]["bytes"].clone(),
        "/summary/bytes",
    );
    assert_breaks(
        Doc::Report,
        &athena,
        |r| r["summary"]["not_available"][0] = json!("summary.lines"),
        "/summary/not_available/0",
    );
}

#[test]
fn a_broken_check_report_fails_validation() {
    let (code, check) = check_json(&[
        "--require-private",
        "shared-data-*",
        "--bucket-policy",
        "testdata/policies/blog-post.json",
        "testdata/logs",
    ]);
    assert_eq!(code, 1);
    assert!(Doc::Check.violations(&check).is_empty());
    assert!(!check["violations"].as_array().unwrap().is_empty());
    assert!(!check["contradictions"].as_array().unwrap().is_empty());
    assert_breaks(
        Doc::Check,
        &check,
        |c| {
            c["buckets"][0].as_object_mut().unwrap().remove("this_run");
        },
        "\"this_run\" is a required property",
    );
    // A result that contradicts the exit status, a class a violation cannot have, a
    // violation carrying a contradiction's fields, an unknown policy status.
    assert_breaks(
        Doc::Check,
        &check,
        |c| c["summary"]["result"] = json!("pass"),
        "/summary",
    );
    assert_breaks(
        Doc::Check,
        &check,
        |c| c["violations"][0]["class"] = json!("private"),
        "/violations/0",
    );
    assert_breaks(
        Doc::Check,
        &check,
        |c| c["violations"][0]["action"] = json!("s3:GetObject"),
        "/violations/0",
    );
    assert_breaks(
        Doc::Check,
        &check,
        |c| c["bucket_policy"]["status"] = json!("enforced-ish"),
        "/bucket_policy",
    );
    assert_breaks(
        Doc::Check,
        &check,
        |c| c["violations"][0]["remote_ip"] = Value::Null,
        "/violations/0",
    );
    // A report is not a check report, nor the other way round.
    let report = report_json(&["testdata/logs"], 0);
    assert!(!Doc::Check.violations(&report).is_empty());
    assert!(!Doc::Report.violations(&check).is_empty());
}

/// Keys a schema lets a document leave out, by the object that has them.
const OPTIONAL: [(&str, &[&str]); 6] = [
    ("", &["inputs"]),
    (
        "summary",
        &["s3", "not_available", "cloudtrail", "aws_ranges"],
    ),
    ("flagged", &["action", "statement", "vpc_endpoint_id"]),
    ("bucket", &["public_networks"]),
    ("talker", &["aws"]),
    ("transition", &["aws"]),
];

/// Walks `schema`, calling `f` with every object schema and the name of its `$defs`
/// entry (if it is one).
fn object_schemas<'a>(name: &str, schema: &'a Value, f: &mut impl FnMut(&str, &'a Value)) {
    match schema {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("object")) {
                f(name, schema);
            }
            for (key, sub) in map {
                if key == "$defs" {
                    for (def, sub) in sub.as_object().unwrap() {
                        object_schemas(def, sub, f);
                    }
                } else {
                    object_schemas(name, sub, f);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| object_schemas(name, v, f)),
        _ => {}
    }
}

#[test]
fn the_schemas_are_closed() {
    for doc in [Doc::Report, Doc::Check] {
        let schema = doc.schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let mut objects = 0;
        object_schemas("", &schema, &mut |name, object| {
            objects += 1;
            assert_eq!(
                object["additionalProperties"],
                json!(false),
                "{doc:?} {name}: open"
            );
            let optional = OPTIONAL
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(&[][..], |(_, keys)| keys);
            let mut properties: Vec<&str> = object["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|k| !optional.contains(k))
                .collect();
            let mut required: Vec<&str> = object["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            properties.sort_unstable();
            required.sort_unstable();
            assert_eq!(required, properties, "{doc:?} {name}: required keys");
        });
        assert!(objects >= 8, "{doc:?}: {objects} object schemas");
    }
}
