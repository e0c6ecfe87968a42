//! Decompresses a gzip file into nothing, for `benches/gzip.sh`: with zlib-rs through
//! flate2 (streaming, as vpce-audit reads a `.gz` today), with libdeflate through
//! libdeflater (whole members in memory), or with libdeflate on several threads, one
//! member each, given where the members start.
//!
//! ```text
//! gunzip zlib-rs FILE
//! gunzip libdeflate FILE
//! gunzip members FILE OFFSETS THREADS   (OFFSETS: a file with each member's offset)
//! ```
//!
//! Prints `BYTES SECONDS`: the decompressed size and the time it took.

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The size a gzip member says it holds (its last 4 bytes, modulo 2^32).
fn isize_of(member: &[u8]) -> usize {
    let t = &member[member.len() - 4..];
    u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
}

fn inflate(member: &[u8]) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = vec![0u8; isize_of(member)];
    let n = libdeflater::Decompressor::new()
        .gzip_decompress(member, &mut out)
        .map_err(|e| format!("{e:?}"))?;
    Ok(n)
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().collect();
    let start = Instant::now();
    let bytes = match args.get(1).map(String::as_str) {
        Some("zlib-rs") => {
            let file = std::fs::File::open(&args[2])?;
            let mut decoder =
                flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 20, file));
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0;
            loop {
                let n = decoder.read(&mut buf)?;
                if n == 0 {
                    break total;
                }
                total += n;
            }
        }
        Some("libdeflate") => inflate(&std::fs::read(&args[2])?)?,
        Some("members") => {
            let data = std::fs::read(&args[2])?;
            let mut offsets: Vec<usize> = std::fs::read_to_string(&args[3])?
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()?;
            offsets.push(data.len());
            let threads: usize = args[4].parse()?;
            let next = AtomicUsize::new(0);
            let total = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i + 1 >= offsets.len() {
                            break;
                        }
                        let n = inflate(&data[offsets[i]..offsets[i + 1]]).expect("a valid member");
                        total.fetch_add(n, Ordering::Relaxed);
                    });
                }
            });
            total.into_inner()
        }
        _ => {
            return Err(
                "usage: gunzip zlib-rs|libdeflate FILE | gunzip members FILE OFFSETS THREADS"
                    .into(),
            )
        }
    };
    println!("{bytes} {:.3}", start.elapsed().as_secs_f64());
    Ok(())
}
