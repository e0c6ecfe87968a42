//! Helpers shared by the end-to-end tests: run the real binary, read its output.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The built `vpce-audit` binary, run from the crate root, as a [`std::process::Command`].
pub fn vpce_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpce-audit"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.env_remove("VPCE_AUDIT_NOW");
    cmd
}

/// The built `vpce-audit` binary, run from the crate root.
pub fn vpce() -> assert_cmd::Command {
    assert_cmd::Command::from_std(vpce_command())
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
    let out = vpce()
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
/// and returns its exit code, stdout and peak resident memory in KiB (from `wait4`, the
/// kernel's own count). Panics if it was killed.
///
/// The peak is the command's own. Linux counts in a process's peak the peak of the
/// address space its exec replaced, and a child spawned from this process (Rust spawns
/// with `posix_spawn`, which shares it until the exec) would carry this whole test
/// process's peak, that is, what any test run beside it allocated. So `sh`, a small
/// process, starts the command in the background and exits; this process, a child
/// subreaper, inherits the orphan and reaps it.
pub fn run_measured(cmd: Command, feed: Option<Feed>) -> (i32, Vec<u8>, u64) {
    static SUBREAPER: OnceLock<()> = OnceLock::new();
    SUBREAPER.get_or_init(|| {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers.
        let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    });
    let mut sh = Command::new("/bin/sh");
    // A background command's stdin is /dev/null unless redirected: it reads fd 3.
    sh.args([
        "-c",
        r#"exec 3<&0; "$@" <&3 3<&- 2>/dev/null & echo $! >&2"#,
        "sh",
    ])
    .arg(cmd.get_program())
    .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => sh.env(name, value),
            None => sh.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    let mut child = sh
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let writer = feed.map(|feed| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || feed(&mut stdin))
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    let sh_status = child.wait().unwrap();
    assert!(sh_status.success(), "sh: {sh_status}: {said}");
    let pid: libc::pid_t = said
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("sh gave no process id: {said:?}"));
    // sh has exited: the command is this process's child now.
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    let out = reader.join().unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data, zeroed is a valid value; wait4 fills it for our own
    // child, which it reaps.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "{}", std::io::Error::last_os_error());
    assert!(libc::WIFEXITED(status), "the child was killed: {status}");
    (libc::WEXITSTATUS(status), out, usage.ru_maxrss as u64)
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
