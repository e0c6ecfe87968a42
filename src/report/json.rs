//! `--format json`: the report model, pretty-printed. This is the scripting contract
//! documented in docs/json.md.

use std::io::{self, Write};

use super::Report;

/// Writes the report as one JSON document followed by a newline.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")
}
