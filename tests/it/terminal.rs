//! The output a person reads at a terminal: tables fitted to the width, colour and its
//! rules, help grouped by kind of option, a mistyped command, the manual page and the
//! completions.

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

use crate::util::{self, log_line, report_json, testdata, vpce, vpce_command};

const LAMBDA: &str =
    "arn:aws:sts::444455556666:assumed-role/etl-lambda-with-a-rather-long-role-name/etl";

/// The sample logs plus a bucket with long names, big numbers and IPv6 addresses,
/// and a requester that was always public.
fn logs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    let t0 = 1_652_090_400; // 2022-05-09T10:00:00Z
    for i in 0..40 {
        let ip = if i % 2 == 0 {
            "2600:1f18:abcd:12:3456:789a:bcde:f012"
        } else {
            "52.79.54.241"
        };
        text += &log_line(
            "a-bucket-with-a-rather-long-name-for-the-overview",
            t0 + i * 97,
            ip,
            LAMBDA,
            if i % 5 == 0 { 403 } else { 200 },
            if i % 5 == 0 { "AccessDenied" } else { "-" },
        );
    }
    std::fs::write(dir.path().join("lambda.log"), text).unwrap();
    let sample = testdata("logs");
    for entry in std::fs::read_dir(&sample).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Runs the report table at `columns`.
fn table(dir: &std::path::Path, columns: usize, extra: &[&str]) -> String {
    let out = vpce()
        .env("COLUMNS", columns.to_string())
        .args(extra)
        .arg(dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// Every time, address and count of the report that a table may show.
fn atoms(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut text = |v: &Value| {
        if let Some(s) = v.as_str() {
            out.push(s.to_string());
        } else if let Some(n) = v.as_u64() {
            if n >= 1000 {
                out.push(n.to_string());
            }
        }
    };
    for b in report["buckets"].as_array().unwrap() {
        for k in ["first_seen", "last_seen", "bytes_sent"] {
            text(&b[k]);
        }
        for p in b["timeline"].as_array().unwrap() {
            text(&p["start"]);
            text(&p["bytes_sent"]);
        }
        for t in b["transitions"].as_array().unwrap() {
            text(&t["at"]);
            text(&t["remote_ip"]);
        }
        for r in b["requesters"].as_array().unwrap() {
            for k in ["first_seen", "last_seen", "first_public", "last_public"] {
                text(&r[k]);
            }
            for a in r["top_public_ips"].as_array().unwrap() {
                text(&a["name"]);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn tables_fit_60_80_120_and_200_columns_without_breaking_a_value() {
    let dir = logs();
    let report = report_json(&[dir.path().to_str().unwrap()], 0);
    let atoms = atoms(&report);
    assert!(atoms
        .iter()
        .any(|a| a == "2600:1f18:abcd:12:3456:789a:bcde:f012"));
    for columns in [60, 80, 120, 200] {
        let text = table(dir.path(), columns, &[]);
        for line in text.lines() {
            assert!(
                line.chars().count() <= columns,
                "{columns}: {} wide: {line}",
                line.chars().count()
            );
        }
        // No piece of a time, an address or a big number stands alone on a line.
        for token in text.split_whitespace() {
            let token = token.trim_matches(|c| matches!(c, ',' | '(' | ')'));
            for atom in &atoms {
                assert!(
                    !(token.len() >= 4 && token.len() < atom.len() && atom.starts_with(token)),
                    "{columns} columns: {atom} broken ({token})\n{text}"
                );
            }
        }
        // What answers the auditor's questions is there at every width: which bucket,
        // from where, when, and which requester (by name, not only in a count).
        for must in [
            "shared-data-prod",
            "mixed",
            "52.79.54.241",
            "2022-05-09T10:32:05Z",
            "444455556666",
        ] {
            assert!(text.contains(must), "{columns}: {must} missing\n{text}");
        }
        if columns >= 80 {
            assert!(
                text.contains("2600:1f18:abcd:12:3456:789a:bcde:f012"),
                "{text}"
            );
        }
        if columns <= 80 {
            assert!(text.contains(&format!("(hidden to fit {columns} columns: ")));
        }
    }
    // At 60 columns the transitions need a block per row, and say so.
    let text = table(dir.path(), 60, &[]);
    assert!(
        text.contains("(one block per row to fit 60 columns)"),
        "{text}"
    );
}

#[test]
fn every_requester_that_came_over_the_internet_is_in_the_table() {
    let dir = logs();
    let text = table(dir.path(), 400, &[]);
    // The Lambda role was always public: it never switched, it is still listed.
    let section = text
        .split("bucket a-bucket-with-a-rather-long-name-for-the-overview:")
        .nth(1)
        .unwrap();
    let section = section.split("\nbucket ").next().unwrap();
    assert!(section.contains("requesters over the internet"));
    let row = section
        .lines()
        .find(|l| l.contains("etl-lambda-with-a-rather-long-role-name"))
        .unwrap();
    // 40 public requests: 8 denied (403), 32 let through, from two addresses.
    assert!(row.contains(" 32 ") && row.contains(" 8 "), "{row}");
    assert!(
        row.contains("2600:1f18:abcd:12:3456:789a:bcde:f012 (20)"),
        "{row}"
    );
    assert!(
        !section.contains("transitions between"),
        "it never switched"
    );
    let report = report_json(&[dir.path().to_str().unwrap()], 0);
    let b = &report["buckets"][0];
    let r = &b["requesters"][0];
    assert_eq!(
        r["requester"],
        "arn:aws:sts::444455556666:assumed-role/etl-lambda-with-a-rather-long-role-name"
    );
    assert_eq!(
        (r["public_allowed"].as_u64(), r["public_denied"].as_u64()),
        (Some(32), Some(8))
    );
    assert_eq!(r["first_public"], "2022-05-09T10:00:00Z");
    assert_eq!(r["last_public"], r["last_seen"]);
}

#[test]
fn colour_follows_the_flag_the_terminal_and_no_color() {
    let dir = logs();
    let esc = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = vpce();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).arg(dir.path()).assert().success();
        out.get_output().stdout.contains(&0x1b)
    };
    assert!(esc(&["--color", "always"], &[]));
    assert!(esc(&["--color", "always"], &[("NO_COLOR", "1")]));
    assert!(!esc(&[], &[]), "a pipe is not a terminal");
    assert!(!esc(&["--color", "never"], &[]));
    // FAIL in red on a check, when asked for.
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-*",
            "--color",
            "always",
        ])
        .arg(testdata("logs"))
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("\x1b[1;31mFAIL\x1b[0m"), "{text}");
}

/// Runs `vpce-audit ARGS` on a pseudo-terminal with `env`, and returns what it printed
/// there.
fn on_a_terminal(args: &str, env: &[(&str, &str)]) -> String {
    util::on_a_terminal(&format!("{} {args}", env!("CARGO_BIN_EXE_vpce-audit")), env)
}

#[test]
fn auto_colour_on_a_terminal_unless_no_color_or_a_dumb_terminal() {
    let coloured = on_a_terminal("testdata/logs", &[]);
    assert!(coloured.contains("\x1b[1;31mmixed\x1b[0m"), "{coloured}");
    assert!(
        coloured.contains("\x1b[32mprivate-only\x1b[0m"),
        "{coloured}"
    );
    let plain = on_a_terminal("testdata/logs", &[("NO_COLOR", "1")]);
    assert!(
        plain.contains("mixed") && !plain.contains("\x1b[1;31m"),
        "{plain}"
    );
    let dumb = on_a_terminal("testdata/logs", &[("TERM", "dumb")]);
    assert!(
        dumb.contains("mixed") && !dumb.contains("\x1b[1;31m"),
        "{dumb}"
    );
    // An empty NO_COLOR does not count (no-color.org).
    let empty = on_a_terminal("testdata/logs", &[("NO_COLOR", "")]);
    assert!(empty.contains("\x1b[1;31mmixed"), "{empty}");
}

#[test]
fn a_mistyped_command_gets_a_suggestion_not_a_report() {
    for (typo, meant) in [
        ("reqeusts", "requests"),
        ("reprot", "report"),
        ("chekc", "check"),
        ("athnea", "athena"),
        ("mna", "man"),
    ] {
        vpce()
            .args([typo, "testdata/logs"])
            .assert()
            .code(2)
            .stdout("")
            .stderr(contains(format!("did you mean `{meant}`?")));
    }
    // A folder that happens to be named like a typo is read as logs.
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("reprot");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(
        testdata("logs/2022-05-09-10-31-44-7C1A9E3F5B2D4086"),
        folder.join("a.log"),
    )
    .unwrap();
    let mut cmd = vpce_command();
    cmd.current_dir(dir.path()).args(["reprot"]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("shared-data-prod"));
    // Far from every command: still read as a path, which does not exist.
    vpce()
        .arg("nonsense-path")
        .assert()
        .code(2)
        .stderr(contains("nonsense-path"))
        .stderr(contains("did you mean").not());
}

/// Every command a person can type, as paths from the top: what the manual page and
/// the completions must offer.
const COMMANDS: [&[&str]; 10] = [
    &["report"],
    &["requests"],
    &["athena"],
    &["athena", "ddl"],
    &["athena", "query"],
    &["athena", "requests"],
    &["check"],
    &["policy"],
    &["completions"],
    &["man"],
];

/// The names under "Commands:" in `vpce-audit ARGS --help`, `help` left out.
fn listed_commands(args: &[&str]) -> Vec<String> {
    let out = vpce().args(args).arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    text.split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|name| name != "help")
        .collect()
}

#[test]
fn the_test_knows_every_command_the_help_lists() {
    let top: Vec<&str> = COMMANDS
        .iter()
        .filter(|p| p.len() == 1)
        .map(|p| p[0])
        .collect();
    assert_eq!(listed_commands(&[]), top);
    let athena: Vec<&str> = COMMANDS
        .iter()
        .filter(|p| p.len() == 2)
        .map(|p| p[1])
        .collect();
    assert_eq!(listed_commands(&["athena"]), athena);
}

#[test]
fn the_manual_page_names_every_command() {
    let man = vpce().arg("man").assert().success();
    let man = String::from_utf8_lossy(&man.get_output().stdout).into_owned();
    assert!(
        man.starts_with(".ie") || man.contains(".TH vpce-audit"),
        "{man}"
    );
    // The page lists each top-level command as a page of its own, `vpce-audit-NAME(1)`.
    for path in COMMANDS.iter().filter(|p| p.len() == 1) {
        let name = path[0];
        assert!(
            man.lines()
                .any(|l| l == format!("vpce\\-audit\\-{name}(1)")),
            "man: {name}"
        );
    }
}

/// Each shell's completion script offers every command as a command (where the word
/// may be typed, not merely somewhere in a help text), by the mark its generator
/// gives a command at that place.
#[test]
fn completions_offer_every_command_in_every_shell() {
    let script = |shell: &str| {
        let out = vpce().args(["completions", shell]).assert().success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };
    let (bash, zsh, fish, elvish, powershell) = (
        script("bash"),
        script("zsh"),
        script("fish"),
        script("elvish"),
        script("powershell"),
    );
    for path in COMMANDS {
        let (name, parents) = path.split_last().unwrap();
        let mut bash_parent = "vpce__audit".to_string();
        for p in parents {
            bash_parent += &format!("__subcmd__{p}");
        }
        assert!(
            bash.contains(&format!("            {bash_parent},{name})\n")),
            "bash: {path:?}"
        );
        // zsh: an entry `'NAME:description'` in the list of its parent's commands.
        assert!(
            zsh.lines().any(|l| l.starts_with(&format!("'{name}:"))),
            "zsh: {path:?}"
        );
        let fish_mark = match parents {
            [] => format!("-n \"__fish_vpce_audit_needs_command\" -a \"{name}\""),
            [p] => format!(
                "__fish_vpce_audit_using_subcommand {p}; and not __fish_seen_subcommand_from "
            ),
            _ => unreachable!(),
        };
        assert!(
            fish.lines()
                .any(|l| l.contains(&fish_mark) && l.contains(&format!(" -a \"{name}\""))),
            "fish: {path:?}"
        );
        let key = format!("vpce-audit;{}", path.join(";"));
        assert!(
            elvish.contains(&format!("&'{key}'= {{")),
            "elvish: {path:?}"
        );
        assert!(
            powershell.contains(&format!("'{key}' {{")),
            "powershell: {path:?}"
        );
    }
}

/// The options listed under each heading of `vpce-audit ARGS -h`.
fn headings(args: &[&str]) -> Vec<(String, Vec<String>)> {
    let out = vpce().args(args).arg("--help").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') && !line.is_empty() {
            sections.push((line.trim_end_matches(':').to_string(), Vec::new()));
        } else if let Some((_, options)) = sections.last_mut() {
            let t = line.trim_start();
            // Option lines are indented by 2 or 6; wrapped descriptions by more.
            let indent = line.len() - t.len();
            if let Some(long) = t
                .split_whitespace()
                .find(|w| w.starts_with("--"))
                .filter(|_| indent <= 6 && t.starts_with('-'))
            {
                options.push(long.trim_end_matches(',').to_string());
            }
        }
    }
    sections
}

fn heading_of(sections: &[(String, Vec<String>)], option: &str) -> String {
    sections
        .iter()
        .find(|(_, options)| options.iter().any(|o| o == option))
        .map(|(h, _)| h.clone())
        .unwrap_or_else(|| panic!("{option} is not listed: {sections:?}"))
}

#[test]
fn help_lists_each_option_under_its_heading() {
    let check = headings(&["check"]);
    for option in [
        "--policy",
        "--require-private",
        "--state",
        "--bucket-policy",
    ] {
        assert_eq!(heading_of(&check, option), "Rules", "check {option}");
    }
    for option in ["--format", "--output", "--interval", "--tz", "--color"] {
        assert_eq!(heading_of(&check, option), "Output", "check {option}");
    }
    let top = headings(&[]);
    for option in ["--interval", "--format", "--output", "--rows"] {
        assert_eq!(heading_of(&top, option), "Output", "top-level {option}");
    }
    for option in ["--bucket", "--since", "--vpc-cidr"] {
        assert_eq!(
            heading_of(&top, option),
            "Which requests",
            "top-level {option}"
        );
    }
    let requests = headings(&["requests"]);
    for option in ["--class", "--status", "--error-code", "--requester", "--ip"] {
        assert_eq!(
            heading_of(&requests, option),
            "Which requests",
            "requests {option}"
        );
    }
    let policy = headings(&["policy"]);
    assert!(
        policy
            .iter()
            .all(|(_, o)| !o.iter().any(|o| o == "--s3-concurrency")),
        "{policy:?}"
    );
    #[cfg(feature = "s3")]
    {
        assert_eq!(heading_of(&check, "--s3-concurrency"), "S3 inputs");
        assert_eq!(heading_of(&policy, "--profile"), "S3 inputs");
        let s3: Vec<String> = check
            .iter()
            .filter(|(h, _)| h == "S3 inputs")
            .flat_map(|(_, o)| o.clone())
            .collect();
        assert_eq!(
            s3,
            [
                "--profile",
                "--region",
                "--endpoint-url",
                "--force-path-style",
                "--s3-concurrency"
            ]
        );
    }
    // Every command's long help teaches by example.
    for command in [
        vec!["report"],
        vec!["requests"],
        vec!["check"],
        vec!["policy"],
        vec!["athena", "ddl"],
        vec!["athena", "query"],
        vec!["athena", "requests"],
        vec!["completions"],
        vec!["man"],
    ] {
        let out = vpce().args(&command).arg("--help").assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(text.contains("Examples:\n  vpce-audit "), "{command:?}");
    }
}

#[test]
fn intervals_divide_a_day_or_are_a_week() {
    for (interval, seconds) in [("10m", 600), ("2h", 7200), ("6h", 21_600), ("1w", 604_800)] {
        let r = report_json(&["--interval", interval, "testdata/logs"], 0);
        assert_eq!(r["summary"]["interval"], interval);
        assert_eq!(r["summary"]["interval_seconds"], seconds);
    }
    let week = report_json(&["--interval", "1w", "testdata/logs"], 0);
    // 2022-05-09 was a Monday.
    assert_eq!(
        week["buckets"][0]["timeline"][0]["start"],
        "2022-05-09T00:00:00Z"
    );
    vpce()
        .args(["--interval", "7m", "testdata/logs"])
        .assert()
        .code(2)
        .stderr(contains("divide a day"));
}

#[test]
fn check_tables_show_times_on_the_tz_clock() {
    let out = vpce()
        .args([
            "check",
            "--require-private",
            "shared-data-*",
            "--tz",
            "Asia/Seoul",
        ])
        .arg(testdata("logs"))
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    // The first violation, 10:32:05 UTC, in Seoul; grouped under its requester.
    assert!(text.contains("2022-05-09T19:32:05+09:00"), "{text}");
    assert!(text.contains("arn:aws:sts::111122223333:assumed-role/ec2-s3-reader: 5"));
    assert!(!text.contains("2022-05-09T10:32:05Z"), "{text}");
}
