//! `--format json`: the report model, pretty-printed. This is the scripting contract
//! documented in docs/json.md.

use std::io::{self, Write};

use super::Report;
use crate::escape;

/// Writes the report as one JSON document followed by a newline.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    // serde_json writes token by token: into a buffer of a known type, each write is
    // a copy the compiler inlines rather than a call through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    escape::write_json(&mut out, report, true)?;
    out.write_all(b"\n")?;
    out.flush()
}
