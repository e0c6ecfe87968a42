//! End-to-end tests of `report -o/--output FILE`.

use std::fs;

use crate::util::{self, vpce_command as vpce_audit};

#[test]
fn every_format_can_go_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["table", "json", "csv", "html"] {
        let stdout = vpce_audit()
            .args(["report", "--format", format, "testdata/logs"])
            .output()
            .unwrap();
        assert!(stdout.status.success());
        if format == "json" {
            util::report_doc(&stdout.stdout);
        }
        let path = dir.path().join(format!("report.{format}"));
        fs::write(&path, "old content that must be replaced").unwrap();
        let to_file = vpce_audit()
            .args(["report", "--format", format, "--output"])
            .arg(&path)
            .arg("testdata/logs")
            .output()
            .unwrap();
        assert!(to_file.status.success());
        assert!(to_file.stdout.is_empty(), "{format}: nothing on stdout");
        let written = fs::read(&path).unwrap();
        if format == "html" {
            // The page quotes its own command line, which differs.
            assert!(written.starts_with(b"<!DOCTYPE html>"));
            assert!(written.ends_with(b"</html>\n"));
        } else {
            assert_eq!(written, stdout.stdout, "{format}");
        }
    }
}

#[test]
fn an_unwritable_output_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-dir").join("report.html");
    let out = vpce_audit()
        .args(["report", "--format", "html", "-o"])
        .arg(&path)
        .arg("testdata/logs")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("creating") && err.contains("report.html"),
        "{err}"
    );
}
