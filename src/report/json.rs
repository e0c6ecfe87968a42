//! `--format json`: the report model, pretty-printed. This is the scripting contract
//! documented in docs/json.md.

use std::io::{self, Write};

use super::{Buckets, Drawn, Report, BATCH_WEIGHT};
use crate::escape;

/// Writes the report as one JSON document followed by a newline: byte for byte what
/// serde_json writes for the whole report, but with the buckets, most of it, built and
/// written to text on every worker of the current pool.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_with(report, out, BATCH_WEIGHT)
}

/// [`write`], with the buckets heavier than `in_line` windows and requesters written
/// straight to `out` as they are built rather than to a text of their own, so that a
/// bucket of a million windows does not stand in memory twice.
fn write_with(report: &Report, out: &mut dyn Write, in_line: usize) -> io::Result<()> {
    // serde_json writes token by token: into a buffer of a known type, each write is
    // a copy the compiler inlines rather than a call through `dyn Write`.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    // The report around its buckets: the same report with none.
    let Report {
        schema_version,
        summary,
        buckets: _,
        inputs,
        rejections,
        errors,
        changes,
        warnings,
    } = report;
    let frame = Report {
        schema_version: *schema_version,
        summary: summary.clone(),
        buckets: Buckets::from(Vec::new()),
        inputs: inputs.clone(),
        rejections: rejections.clone(),
        errors: errors.clone(),
        changes: changes.clone(),
        warnings: warnings.clone(),
    };
    let mut text = Vec::new();
    escape::write_json(&mut text, &frame, true)?;
    let Some(list) = empty_bucket_list(&text) else {
        // Not reached: the frame always has the key. The whole report in one piece
        // is the same document.
        escape::write_json(&mut out, report, true)?;
        return finish(out);
    };
    out.write_all(&text[..list])?;
    let buckets = report.buckets.drawn(in_line, |b, text| {
        escape::write_json_nested(text, b, BUCKET_DEPTH)
    });
    let mut first = true;
    for bucket in buckets {
        // As serde_json's pretty printer places an array's values, two levels deep.
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        first = false;
        match bucket? {
            Drawn::Text(text) => out.write_all(&text)?,
            Drawn::Bucket(b) => escape::write_json_nested(&mut out, &**b, BUCKET_DEPTH)?,
        }
    }
    if !first {
        out.write_all(b"\n  ")?;
    }
    out.write_all(&text[list..])?;
    finish(out)
}

/// Ends the document with its line break and flushes it.
fn finish(mut out: impl Write) -> io::Result<()> {
    out.write_all(b"\n")?;
    out.flush()
}

/// How deep a bucket stands in the report: in the list under the report's key.
const BUCKET_DEPTH: usize = 2;

/// Where the values of the report's empty `"buckets": []` go: after its `[`. A line
/// break inside a JSON string is written `\n`, so the only line that starts with the
/// key, indented once, is the report's own.
fn empty_bucket_list(text: &[u8]) -> Option<usize> {
    const KEY: &[u8] = b"\n  \"buckets\": []";
    memchr::memmem::find(text, KEY).map(|at| at + KEY.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::escaped_report;

    /// The report's JSON written by serde_json in one piece.
    fn whole(report: &Report) -> Vec<u8> {
        let mut expected = Vec::new();
        escape::write_json(&mut expected, report, true).unwrap();
        expected.push(b'\n');
        expected
    }

    #[test]
    fn buckets_written_apart_make_the_document_serde_json_writes_whole() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for buckets in [0, 1, 2, 9] {
            let report = escaped_report(buckets);
            let expected = whole(&report);
            assert!(buckets == 0 || expected.windows(4).any(|w| w == b"\\n\\u"));
            // Every bucket as text, every bucket in line, and some of each.
            for in_line in [usize::MAX, 0, 20] {
                let mut out = Vec::new();
                pool.install(|| write_with(&report, &mut out, in_line))
                    .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&expected),
                    "{buckets} buckets, in line above {in_line}"
                );
            }
        }
    }

    #[test]
    fn the_empty_bucket_list_is_found_at_the_top_level_only() {
        let text =
            b"{\n  \"summary\": {\n    \"buckets\": []\n  },\n  \"buckets\": [],\n  \"x\": 1\n}";
        let at = empty_bucket_list(text).unwrap();
        assert_eq!(
            &text[..at],
            b"{\n  \"summary\": {\n    \"buckets\": []\n  },\n  \"buckets\": ["
        );
        assert_eq!(
            empty_bucket_list(b"{\n  \"buckets\": [\n    1\n  ]\n}"),
            None
        );
    }
}
