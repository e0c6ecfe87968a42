//! The reference points of `benches/compare.sh` (see `benches/baselines/mod.rs`), run
//! on the same file as vpce-audit, the file cut into one piece per thread:
//!
//! * `count`: count the spaces of every line with memchr's vectorised `count`;
//! * `scan`: split every line on spaces with memchr, field by field, and count them;
//! * `tokenize`: the naive tokenizer, requests per bucket and hour.
//!
//! `cargo run --release --example baseline -- count|scan|tokenize THREADS FILE`

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

#[path = "../benches/baselines/mod.rs"]
mod baselines;

const BLOCK: usize = 4 << 20;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, threads, path] = &args[..] else {
        eprintln!("usage: baseline count|scan|tokenize THREADS FILE");
        std::process::exit(2);
    };
    let threads: u64 = threads.parse().expect("THREADS is a number");
    let size = std::fs::metadata(path)?.len();
    let piece = size.div_ceil(threads);
    let results: Vec<(u64, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mode = mode.as_str();
                s.spawn(move || run(mode, path, t * piece, ((t + 1) * piece).min(size)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker").expect("read"))
            .collect()
    });
    let lines: u64 = results.iter().map(|r| r.0).sum();
    let counted: usize = results.iter().map(|r| r.1).sum();
    let what = if mode == "count" {
        "spaces"
    } else if mode == "scan" {
        "fields"
    } else {
        "(bucket, hour) groups summed over threads"
    };
    println!("{mode}: {lines} lines, {counted} {what}");
    Ok(())
}

/// Processes the lines that start in `start..end`; returns (lines, groups or fields).
fn run(mode: &str, path: &str, start: u64, end: u64) -> io::Result<(u64, usize)> {
    let mut file = File::open(path)?;
    let mut pos = start;
    if start > 0 {
        file.seek(SeekFrom::Start(start - 1))?;
        let mut b = [0u8; 1];
        loop {
            if file.read(&mut b)? == 0 || b[0] == b'\n' {
                break;
            }
            pos += 1;
        }
    } else {
        file.seek(SeekFrom::Start(0))?;
    }
    let mut buf = vec![0u8; BLOCK + 65536];
    let mut filled = 0;
    let mut lines = 0u64;
    let mut fields = 0usize;
    let mut groups = baselines::Groups::new();
    'outer: loop {
        let n = file.read(&mut buf[filled..])?;
        let data = filled + n;
        let mut s = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[s..data]) {
            if pos >= end {
                break 'outer;
            }
            let line = &buf[s..s + i];
            pos += i as u64 + 1;
            lines += 1;
            if mode == "scan" {
                fields += baselines::scan(line).0;
            } else if mode == "count" {
                fields += baselines::count(line);
            } else {
                baselines::tokenize(line, &mut groups);
            }
            s += i + 1;
        }
        if n == 0 {
            break;
        }
        buf.copy_within(s..data, 0);
        filled = data - s;
    }
    Ok((
        lines,
        if mode == "tokenize" {
            groups.len()
        } else {
            fields
        },
    ))
}
