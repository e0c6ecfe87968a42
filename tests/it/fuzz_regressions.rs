//! The fuzzers' regression seeds, replayed on every `cargo test`: inputs that reached new
//! code in `cargo fuzz` runs (see `fuzz/README.md`), checked by the fuzz targets' own
//! oracle (`fuzz/oracle.rs`) — no panic, the two line parsers agree, every line is
//! parsed or rejected, and every output format stays safe.

use std::path::PathBuf;

use crate::oracle;

/// The seed files of one fuzz target, in name order.
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = common_dir().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "{}: too few seeds", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn common_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz-regressions")
}

#[test]
fn parse_line_seeds_parse_alike_in_both_parsers() {
    for (path, bytes) in seeds("parse_line") {
        eprintln!("{}", path.display());
        oracle::parse_line(&bytes);
    }
}

#[test]
fn pipeline_seeds_are_accounted_for_and_render_safely() {
    // The line seeds are inputs of the whole pipeline too.
    for (path, bytes) in seeds("pipeline").into_iter().chain(seeds("parse_line")) {
        eprintln!("{}", path.display());
        oracle::pipeline(&bytes);
    }
}
