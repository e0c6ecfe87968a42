//! The layout's one rule, checked on the sources: `src/lib.rs` declares the modules
//! from the top layer down, and a module imports only modules declared after it, so
//! no import points up and none closes a cycle (docs/development.md).

use std::path::{Path, PathBuf};

/// The top-level modules in the order `src/lib.rs` declares them.
fn declared() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_string())
        })
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The Rust files of top-level module `name`: `src/name.rs`, or all of `src/name/`.
fn files_of(name: &str) -> Vec<PathBuf> {
    let file = src().join(format!("{name}.rs"));
    if file.exists() {
        return vec![file];
    }
    let mut all = Vec::new();
    let mut dirs = vec![src().join(name)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                all.push(path);
            }
        }
    }
    assert!(!all.is_empty(), "no source for module {name}");
    all
}

/// The top-level modules `code` names as `crate::module`, outside comments and the
/// unit tests at its end.
fn imports(code: &str) -> Vec<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or("");
    let mut names = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: the group may span lines; its first names.
                for item in group.split([',', '}']) {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        names.push(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                names.push(name);
            }
        }
    }
    // Multi-line `use crate::{` groups: every line up to the closing brace.
    let mut in_group = false;
    for line in code.lines() {
        let t = line.trim();
        if t.starts_with("use crate::{") && !t.contains('}') {
            in_group = true;
            continue;
        }
        if in_group {
            for item in t.split([',', '}']) {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
            in_group = !t.contains('}');
        }
    }
    names
}

#[test]
fn no_module_imports_one_declared_above_it() {
    let order = declared();
    assert!(order.len() > 10, "lib.rs declares {order:?}");
    let mut upward = Vec::new();
    for (at, module) in order.iter().enumerate() {
        for file in files_of(module) {
            let code = std::fs::read_to_string(&file).unwrap();
            for name in imports(&code) {
                if let Some(there) = order.iter().position(|m| *m == name) {
                    if there < at {
                        upward.push(format!("{} imports {name}", file.display()));
                    }
                }
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(
        upward.is_empty(),
        "imports that point up:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_import_finder_sees_every_form() {
    let code = "use crate::parse::x;\nuse crate::{time, arn::principal};\nuse crate::{\n    escape,\n    record::Record,\n};\nfn f() { crate::check::run(); } // crate::app\n#[cfg(test)]\nuse crate::cli;";
    let mut found = imports(code);
    found.sort();
    found.dedup();
    assert_eq!(found, ["arn", "check", "escape", "parse", "record", "time"]);
}
