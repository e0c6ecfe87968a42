//! Helpers shared by the end-to-end tests: run the real binary, read its output.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Terminal width the tests' tables are fitted to, unless a test sets `COLUMNS`
/// itself: wide enough that no column is left out.
pub const WIDE: &str = "1000";

/// The built `vpce-audit` binary, run from the crate root, as a [`std::process::Command`];
/// tables as wide as they need ([`WIDE`]), no colour.
pub fn vpce_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("VPCE_AUDIT_NOW");
    cmd.env("COLUMNS", WIDE);
    cmd.env_remove("NO_COLOR");
    cmd
}

/// The built `vpce-audit` binary, run from the crate root.
pub fn vpce() -> assert_cmd::Command {
    assert_cmd::Command::from_std(vpce_command())
}

/// Runs the shell command line `command` on a pseudo-terminal (util-linux `script`):
/// its standard output and error are a terminal (`TERM=xterm`, 100 columns, `NO_COLOR`
/// unset) unless `env` says otherwise. Returns what was printed there, both streams.
pub fn on_a_terminal(command: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("script");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["-qec", command, "/dev/null"])
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .env("COLUMNS", "100");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs, for a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// Runs `vpce-audit ARGS`, which must succeed, and returns its standard output.
pub fn stdout(args: &[&str]) -> String {
    let out = vpce()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// A JSON document the tool prints, and its JSON Schema in `docs/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    /// `report --format json`: `docs/report.schema.json`.
    Report,
    /// `check --format json`: `docs/check.schema.json`.
    Check,
}

impl Doc {
    /// The schema, as written in `docs/`.
    pub fn schema(self) -> Value {
        let name = match self {
            Doc::Report => "report.schema.json",
            Doc::Check => "check.schema.json",
        };
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The schema compiled once (and checked against the draft 2020-12 meta-schema).
    fn validator(self) -> &'static jsonschema::Validator {
        static REPORT: OnceLock<jsonschema::Validator> = OnceLock::new();
        static CHECK: OnceLock<jsonschema::Validator> = OnceLock::new();
        let cell = match self {
            Doc::Report => &REPORT,
            Doc::Check => &CHECK,
        };
        cell.get_or_init(|| {
            jsonschema::draft202012::new(&self.schema())
                .unwrap_or_else(|e| panic!("the {self:?} schema is not a valid schema: {e}"))
        })
    }

    /// Every way `doc` breaks the schema, one line each, at its place in the document;
    /// empty when it conforms.
    pub fn violations(self, doc: &Value) -> Vec<String> {
        self.validator()
            .iter_errors(doc)
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect()
    }

    /// Panics unless `doc` conforms to the schema.
    pub fn assert_valid(self, doc: &Value) {
        let violations = self.violations(doc);
        assert!(
            violations.is_empty(),
            "the {self:?} JSON breaks its schema:\n{}",
            violations.join("\n")
        );
    }
}

/// The document `report --format json` printed, validated against its schema.
pub fn report_doc(stdout: &[u8]) -> Value {
    let doc = serde_json::from_slice(stdout).expect("report JSON parses");
    Doc::Report.assert_valid(&doc);
    doc
}

/// The document `check --format json` printed, validated against its schema.
pub fn check_doc(stdout: &[u8]) -> Value {
    let doc = serde_json::from_slice(stdout).expect("check JSON parses");
    Doc::Check.assert_valid(&doc);
    doc
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
    report_doc(&out)
}

/// Runs `vpce-audit check ARGS --format json`; returns the exit status and the report,
/// validated against its schema (`null` when the run printed nothing).
pub fn check_json(args: &[&str]) -> (i32, Value) {
    check_json_with(vpce(), args)
}

/// [`check_json`] with "now" fixed at `now` (RFC 3339), for runs that judge how fresh
/// the evidence is.
pub fn check_json_at(now: &str, args: &[&str]) -> (i32, Value) {
    let mut cmd = vpce();
    cmd.env("VPCE_AUDIT_NOW", now);
    check_json_with(cmd, args)
}

fn check_json_with(mut cmd: assert_cmd::Command, args: &[&str]) -> (i32, Value) {
    let out = cmd
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let json = if out.stdout.is_empty() {
        Value::Null
    } else {
        check_doc(&out.stdout)
    };
    (code, json)
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

/// `data`, gzip-compressed.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Writes a child's standard input from a thread of its own.
pub type Feed = Box<dyn FnOnce(&mut dyn Write) + Send>;

/// Runs `cmd` (its stderr discarded) with `feed` writing its standard input, or none,
/// and returns its exit code, stdout and peak resident memory in KiB (the kernel's
/// count, from `wait4`). Panics if it was killed.
///
/// The peak is the command's own. Linux counts in a process's peak the peak of the
/// address space its exec replaced, and a child spawned from this process (Rust spawns
/// with `posix_spawn`, which shares it until the exec) would carry this whole test
/// process's peak, that is, what any test run beside it allocated. So GNU `time`, a
/// small process, starts the command and reports the peak that `wait4` gives it
/// (`scripts/test.sh` installs it when missing).
pub fn run_measured(cmd: Command, feed: Option<Feed>) -> (i32, Vec<u8>, u64) {
    let m = measure(cmd, feed);
    (m.code, m.stdout, m.peak_kib)
}

/// What [`measure`] found out about a command.
#[derive(Debug)]
pub struct Measured {
    /// Its exit code.
    pub code: i32,
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its peak resident memory, in KiB.
    pub peak_kib: u64,
    /// The processor time it used, all its threads together (user and system), in
    /// seconds: unlike the time on the clock, not stretched by other processes
    /// sharing the machine.
    pub cpu_seconds: f64,
}

/// Runs `cmd` as [`run_measured`] does, and returns its processor time too.
pub fn measure(cmd: Command, feed: Option<Feed>) -> Measured {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut time = Command::new("/usr/bin/time");
    time.args(["--quiet", "--format=%M %U %S", "--output"])
        .arg(report.path())
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => time.env(name, value),
            None => time.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        time.current_dir(dir);
    }
    let mut child = time
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("/usr/bin/time (GNU time; scripts/test.sh installs it)");
    let writer = feed.map(|feed| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || feed(&mut stdin))
    });
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let status = child.wait().unwrap();
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    let code = status.code().expect("time exits");
    let said = std::fs::read_to_string(report.path()).unwrap();
    // GNU time exits with 128 + N when the command was killed by signal N.
    assert!(code < 128, "the command was killed ({code}): {said}");
    let numbers: Vec<f64> = said
        .lines()
        .last()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let [peak, user, system] = numbers[..] else {
        panic!("time gave no peak and times: {said:?}");
    };
    Measured {
        code,
        stdout: out,
        peak_kib: peak as u64,
        cpu_seconds: user + system,
    }
}

#[test]
fn a_measured_peak_is_the_commands_own() {
    // 256 MiB resident in this process while the command runs: none of it is the
    // command's (spawned straight from here, its peak would include all of it).
    let mut held = vec![0u8; 256 << 20];
    for page in held.chunks_mut(4096) {
        page[0] = 1;
    }
    let (code, out, peak_kib) = run_measured(vpce_command(), None);
    assert_eq!(code, 2, "no command: a usage error");
    assert!(out.is_empty());
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB"
    );
    assert_eq!(
        held.iter().step_by(4096).filter(|&&b| b == 1).count(),
        1 << 16
    );
}

/// One access log line in AWS's format: `bucket` at `time` (seconds since the epoch)
/// from `ip` (`-` for none) by `requester` (`-` for anonymous), answered with `status`
/// and `error_code` (`-` for none).
pub fn log_line(
    bucket: &str,
    time: i64,
    ip: &str,
    requester: &str,
    status: u16,
    error_code: &str,
) -> String {
    let t = chrono::DateTime::from_timestamp(time, 0)
        .unwrap()
        .format("%d/%b/%Y:%H:%M:%S +0000");
    format!(
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} [{t}] {ip} \
         {requester} 3E57427F3EXAMPLE REST.GET.OBJECT data/report.csv \
         \"GET /{bucket}/data/report.csv HTTP/1.1\" {status} {error_code} 1024 1024 12 11 \"-\" \
         \"aws-sdk-java/1.12\" - host-id SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader \
         {bucket}.s3.amazonaws.com TLSv1.2 - -\n"
    )
}
