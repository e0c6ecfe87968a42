//! Writes reproducible synthetic S3 access logs to stdout, for benchmarks:
//! `cargo run --release --example generate -- LINES [SEED] > big.log`.

use std::io::{self, BufWriter, Write};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let lines: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    vpce_audit::synth::write_logs(&mut out, seed, lines)?;
    out.flush()
}
