//! The two reference points of `benches/compare.sh`, on the same file as vpce-audit:
//!
//! * `scan`: split every line on spaces with memchr and count the fields — the ceiling
//!   for anything that touches every byte;
//! * `tokenize`: a naive quote- and bracket-aware tokenizer that splits each line into
//!   fields, parses the remote IP and counts requests per bucket and hour, with no other
//!   validation.
//!
//! `cargo run --release --example baseline -- scan|tokenize THREADS FILE`

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::IpAddr;

const BLOCK: usize = 4 << 20;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, threads, path] = &args[..] else {
        eprintln!("usage: baseline scan|tokenize THREADS FILE");
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
    let groups: usize = results.iter().map(|r| r.1).sum();
    println!("{mode}: {lines} lines, {groups} (bucket, hour) groups");
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
    let mut groups: HashMap<(Vec<u8>, i64), u64> = HashMap::new();
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
                fields += memchr::memchr_iter(b' ', line).count() + 1;
            } else {
                tokenize(line, &mut groups);
            }
            s += i + 1;
        }
        if n == 0 {
            break;
        }
        buf.copy_within(s..data, 0);
        filled = data - s;
    }
    Ok((lines, if mode == "scan" { fields } else { groups.len() }))
}

fn tokenize(line: &[u8], groups: &mut HashMap<(Vec<u8>, i64), u64>) {
    let mut fields: [&[u8]; 32] = [&[]; 32];
    let mut n = 0;
    let mut i = 0;
    while i < line.len() && n < fields.len() {
        let (open, close) = match line[i] {
            b'"' => (1, b'"'),
            b'[' => (1, b']'),
            _ => (0, b' '),
        };
        let from = i + open;
        let to = memchr::memchr(close, &line[from..]).map_or(line.len(), |p| from + p);
        fields[n] = &line[from..to];
        n += 1;
        i = to + open + 1;
    }
    if n < 4 {
        return;
    }
    let ip: Option<IpAddr> = std::str::from_utf8(fields[3])
        .ok()
        .and_then(|s| s.parse().ok());
    let time = fields[2];
    let hour = if time.len() >= 14 {
        i64::from(time[12] - b'0') * 10 + i64::from(time[13] - b'0')
    } else {
        0
    };
    let key = (fields[1].to_vec(), hour + i64::from(ip.is_some()) * 100);
    *groups.entry(key).or_default() += 1;
}
