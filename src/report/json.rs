//! `--format json`: the report model, pretty-printed. This is the scripting contract
//! documented in docs/json.md.

use std::io::{self, Write};

use super::Report;
use crate::escape;

/// Writes the report as one JSON document followed by a newline.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    escape::write_json(&mut *out, report, true)?;
    out.write_all(b"\n")
}
