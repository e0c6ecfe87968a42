//! End-to-end tests of `--evidence-hashes`: every input's name, size and SHA-256 as
//! stored, in the JSON and HTML of `report` and `check`, equal to what `sha256sum`
//! says of the files.

use std::fs;

use sha2::{Digest, Sha256};

use crate::util::{self, vpce};

/// The files of the sample logs, with their size and SHA-256 computed here.
fn sample_files() -> Vec<(String, u64, String)> {
    let mut files = Vec::new();
    for rel in [
        "testdata/logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086",
        "testdata/logs/2022-05-09-10-56-02-2B8D4F6A0C1E3957",
        "testdata/logs/2022-05-09-11-50-17-9E3B7D1F5A2C6048",
        "testdata/logs/archive/team-reports-2022-05-09.log.gz",
    ] {
        let bytes = fs::read(util::testdata(rel.strip_prefix("testdata/").unwrap())).unwrap();
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        files.push((rel.to_string(), bytes.len() as u64, hex));
    }
    files
}

fn listed(inputs: &serde_json::Value) -> Vec<(String, u64, String)> {
    inputs
        .as_array()
        .expect("inputs is listed")
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_string(),
                i["bytes"].as_u64().unwrap(),
                i["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn every_input_is_listed_with_its_sha256_as_stored_in_report_and_check() {
    let want = sample_files();
    for threads in ["1", "4"] {
        let r = util::report_json(
            &["--evidence-hashes", "--threads", threads, "testdata/logs"],
            0,
        );
        assert_eq!(listed(&r["inputs"]), want, "{threads} thread(s)");
    }
    // Without the flag, no list.
    let r = util::report_json(&["testdata/logs"], 0);
    assert!(r.get("inputs").is_none());
    let (code, c) = util::check_json(&[
        "--require-private",
        "shared-data-prod",
        "--evidence-hashes",
        "testdata/logs",
    ]);
    assert_eq!(code, 1);
    assert_eq!(listed(&c["inputs"]), want);
    // A single file is read by one thread and parsed by all: still hashed whole.
    let one = &want[1];
    let r = util::report_json(&["--evidence-hashes", &one.0], 0);
    assert_eq!(listed(&r["inputs"]), std::slice::from_ref(one));
}

#[test]
fn the_html_pages_show_the_chain_of_custody() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let check = dir.path().join("check.html");
    vpce()
        .args(["--format", "html", "--evidence-hashes", "-o"])
        .arg(&report)
        .arg("testdata/logs")
        .assert()
        .success();
    vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-prod",
            "--format",
            "html",
            "--evidence-hashes",
            "-o",
        ])
        .arg(&check)
        .arg("testdata/logs")
        .assert()
        .code(1);
    for page in [report, check] {
        let html = fs::read_to_string(&page).unwrap();
        assert!(
            html.contains("<h2>Chain of custody</h2>"),
            "{}",
            page.display()
        );
        for (name, bytes, sha) in sample_files() {
            let row = format!(
                "<tr><td><code>{name}</code></td><td class=\"n\">{}</td><td><code>{sha}</code></td></tr>",
                thousands(bytes)
            );
            assert!(html.contains(&row), "{}: no row {row}", page.display());
        }
    }
}

fn thousands(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
