//! Helpers shared by the end-to-end tests: run the real binary, read its output.

use std::path::PathBuf;

use serde_json::Value;

/// The built `vpce-audit` binary, run from the crate root.
pub fn vpce() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("VPCE_AUDIT_NOW");
    cmd
}

/// A path under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// Runs `vpce-audit report --format json ARGS` and returns the parsed document;
/// panics unless it exits with `code`.
pub fn report_json(args: &[&str], code: i32) -> Value {
    let out = vpce()
        .args(["report", "--format", "json"])
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("report JSON parses")
}

/// Runs `vpce-audit requests --format ndjson ARGS` and returns one value per line.
pub fn requests_ndjson(args: &[&str]) -> Vec<Value> {
    let out = vpce()
        .args(["requests", "--format", "ndjson"])
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out)
        .expect("NDJSON is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// The bucket named `name` in a JSON report.
pub fn bucket<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["buckets"]
        .as_array()
        .expect("buckets is an array")
        .iter()
        .find(|b| b["bucket"] == name)
        .unwrap_or_else(|| panic!("bucket {name} in report"))
}
