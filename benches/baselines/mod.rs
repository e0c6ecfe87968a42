//! The reference points vpce-audit is measured against, shared by
//! `benches/pipeline.rs` (in memory, criterion) and `examples/baseline.rs` (on a file,
//! for `benches/compare.sh`):
//!
//! * [`count`]: count the spaces of a line with memchr's vectorised `count` — the cost
//!   of touching every byte once;
//! * [`scan`]: split a line on spaces with memchr, field by field — the ceiling for
//!   anything that looks at every field;
//! * [`tokenize`]: a naive quote- and bracket-aware tokenizer that splits a line into
//!   fields, parses the remote IP and counts requests per bucket and hour, with no
//!   other validation.

use std::collections::HashMap;
use std::net::IpAddr;

/// Requests per (bucket, hour + 100 if the remote IP parsed).
pub type Groups = HashMap<(Vec<u8>, i64), u64>;

/// Splits `line` on spaces with memchr, one field after the other, and returns the
/// number of fields and their total length. (Counting the spaces without visiting each
/// field, [`count`], is a vectorised count, not a split.)
#[inline]
pub fn scan(line: &[u8]) -> (usize, usize) {
    let (mut fields, mut bytes, mut start) = (0, 0, 0);
    for space in memchr::memchr_iter(b' ', line) {
        let field = &line[start..space];
        fields += 1;
        bytes += field.len();
        start = space + 1;
    }
    (fields + 1, bytes + line.len() - start)
}

/// The number of spaces in `line`, counted with memchr's vectorised `count`: the cost
/// of touching every byte once, without visiting the fields.
#[inline]
pub fn count(line: &[u8]) -> usize {
    memchr::memchr_iter(b' ', line).count()
}

/// Splits `line` into fields (`"…"` and `[…]` are one field each), parses the remote
/// IP and counts the line in `groups` under its bucket and hour.
pub fn tokenize(line: &[u8], groups: &mut Groups) {
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
        i64::from(time[12].wrapping_sub(b'0')) * 10 + i64::from(time[13].wrapping_sub(b'0'))
    } else {
        0
    };
    let key = (fields[1].to_vec(), hour + i64::from(ip.is_some()) * 100);
    *groups.entry(key).or_default() += 1;
}
