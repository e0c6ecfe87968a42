//! The fast path of the line parser, for the line S3 nearly always writes: fields
//! separated by single spaces, and six quotes that open and close the request-URI, the
//! referer and the user-agent.
//!
//! One pass over the line classifies it 64 bytes at a time into bitmasks of its spaces,
//! quotes and carriage returns (AVX2 when the processor has it, found at run time, else
//! SSE2 on x86_64 and a portable loop elsewhere), simdjson style: a prefix XOR of the
//! quote mask marks the bytes inside quotes, and the spaces outside them are the field
//! separators, taken from the mask bit by bit. Only a quote with a space or an end of
//! the line beside it counts: one inside a token (`filename="a.pdf"` in a presigned URL)
//! is text, as it is for the full parser. The fields are then read at those places with
//! the parser's own validators.
//!
//! A line it cannot settle goes to the full parser ([`super::Cursor`]): shorter than 64
//! bytes, a carriage return, a leading space or two spaces in a row, other than six
//! counted quotes, quotes that are not the first and last bytes of fields 9, 16 and 17,
//! an opening quote followed by a space, fewer than the 17 required fields, a time other
//! than S3's UTC form, or a field that does not validate. For every line it settles,
//! the full parser's rules find one reading only (no other quote can end a field), the
//! same; `LineParser::without_fast_path` lets the tests and the fuzz oracle compare the
//! two on any input.

use crate::record::{Field, Record};

use std::net::IpAddr;

use super::{dash, ipv4, number_at, remote_ip, status, utc_timestamp, LastDate, UTC_TIMESTAMP_LEN};

/// The tokens the fast path reads: the 27 fields of a record, the time counted as two
/// (it holds a space).
const TOKENS: usize = 28;
/// The quotes of a line the fast path settles: around the request-URI (token 9), the
/// referer (16) and the user-agent (17).
const QUOTES: usize = 6;
/// The tokens of the three quoted fields.
const QUOTED: [usize; 3] = [9, 16, 17];
/// The first token after the user-agent: the optional fields.
const LATER: usize = 18;

/// Reads `line` (trimmed by [`super::trim_end`]) into `r` when it has the common shape,
/// exactly as the full parser would; `None` leaves the line to the full parser (and
/// `r` partly written). `ix` is the index of an earlier line, reused (see [`Index`]).
#[inline]
pub(super) fn parse<'a>(
    line: &'a [u8],
    required_only: bool,
    last_date: &mut LastDate,
    ix: &mut Index,
    r: &mut Record<'a>,
) -> Option<()> {
    ix.fill(line, required_only)?;
    if ix.quotes_seen != QUOTES || ix.seps_seen + 1 < LATER {
        return None;
    }
    let tokens = (ix.seps_seen + 1).min(TOKENS);
    if tokens > ix.seps_seen {
        // The last token runs to the end of the line (or, when `fill` stopped after
        // the user-agent, is not read).
        ix.cuts[tokens] = line.len();
    }

    // The quotes are the first and last bytes of tokens 9, 16 and 17, and no opening
    // quote is followed by a space: then each of them closes or opens a field in only
    // one way, as the full parser's rules find too.
    for (pair, &t) in ix.quotes.chunks_exact(2).zip(&QUOTED) {
        let (open, close) = (pair[0], pair[1]);
        if open != ix.start(t) || close + 1 != ix.cuts[t + 1] || line[open + 1] == b' ' {
            return None;
        }
    }

    // The time: `[06/Feb/2019:00:00:38 +0000]` is tokens 2 and 3.
    let time = ix.start(2);
    if ix.cuts[3] != time + 21 || ix.cuts[4] != time + UTC_TIMESTAMP_LEN {
        return None;
    }
    r.time = utc_timestamp(&line[time..], last_date)?;

    r.bucket_owner = dash(ix.token(line, 0));
    r.bucket = dash(ix.token(line, 1));
    r.remote_ip = match ix.token(line, 4) {
        b"-" => None,
        ip => match ipv4(ip) {
            Some(v4) => Some(IpAddr::V4(v4)),
            None => remote_ip(ip).ok()?,
        },
    };
    r.requester = dash(ix.token(line, 5));
    r.request_id = dash(ix.token(line, 6));
    r.operation = dash(ix.token(line, 7));
    r.key = dash(ix.token(line, 8));
    r.request_uri = ix.quoted(line, 9);
    r.http_status = status(ix.token(line, 10)).ok()?;
    r.error_code = dash(ix.token(line, 11));
    r.bytes_sent = ix.number(line, 12, Field::BytesSent)?;
    r.object_size = ix.number(line, 13, Field::ObjectSize)?;
    r.total_time = ix.number(line, 14, Field::TotalTime)?;
    r.turn_around_time = ix.number(line, 15, Field::TurnAroundTime)?;
    r.referer = ix.quoted(line, 16);
    r.user_agent = ix.quoted(line, 17);

    let optional: [&mut Option<&[u8]>; 10] = [
        &mut r.version_id,
        &mut r.host_id,
        &mut r.signature_version,
        &mut r.cipher_suite,
        &mut r.authentication_type,
        &mut r.host_header,
        &mut r.tls_version,
        &mut r.access_point_arn,
        &mut r.acl_required,
        &mut r.source_region,
    ];
    for (t, slot) in (LATER..).zip(optional) {
        *slot = if required_only || t >= tokens {
            None
        } else {
            dash(ix.token(line, t))
        };
    }
    Some(())
}

/// Where the separators and quotes of a line are, found in one pass. The parser keeps
/// one for all its lines, not zeroed in between: only the places written for the
/// current line are read.
#[derive(Clone, Debug)]
pub(super) struct Index {
    /// `cuts[t + 1]`: where token t ends, at the t-th separator (a space outside
    /// quotes), for the first [`TOKENS`] tokens; `cuts[0]` is unused, and the last
    /// four are slack for [`Index::block`].
    cuts: [usize; TOKENS + 5],
    /// How many separators are in `cuts`.
    seps_seen: usize,
    /// The quotes of the line, when there are at most [`QUOTES`].
    quotes: [usize; QUOTES],
    quotes_seen: usize,
}

/// What [`Index::scan`] carries from one block to the next: kept apart from the index
/// so that it stays in registers.
struct Carry {
    /// How many separators and quotes were seen so far.
    seps_seen: usize,
    quotes_seen: usize,
    /// All ones when the previous block ended inside quotes, else zero.
    inside: u64,
    /// Bit 0 set when the previous block ended in a separator (or before the line).
    after_sep: u64,
    /// Bit 0 set when the previous block ended in a space (or before the line).
    after_space: u64,
}

impl Default for Index {
    fn default() -> Index {
        Index::new()
    }
}

impl Index {
    fn new() -> Index {
        Index {
            cuts: [0; TOKENS + 5],
            seps_seen: 0,
            quotes: [0; QUOTES],
            quotes_seen: 0,
        }
    }

    /// Where token `t` (after the first) starts: after the separator that ends the one
    /// before it.
    #[inline(always)]
    fn start(&self, t: usize) -> usize {
        if t == 0 {
            0
        } else {
            self.cuts[t] + 1
        }
    }

    /// Token `t` of `line`.
    #[inline(always)]
    fn token<'a>(&self, line: &'a [u8], t: usize) -> &'a [u8] {
        &line[self.start(t)..self.cuts[t + 1]]
    }

    /// The text between the quotes of token `t`, `None` for `"-"`.
    #[inline(always)]
    fn quoted<'a>(&self, line: &'a [u8], t: usize) -> Option<&'a [u8]> {
        dash(&line[self.start(t) + 1..self.cuts[t + 1] - 1])
    }

    /// Token `t` as a number or `-`; `None` if it is neither.
    #[inline(always)]
    fn number(&self, line: &[u8], t: usize, field: Field) -> Option<Option<u64>> {
        number_at(line, self.start(t), self.cuts[t + 1], field).ok()
    }

    /// Indexes `line`, or `None` when the line is not for the fast path: shorter than
    /// 64 bytes, or with a carriage return, more than six quotes, a leading space or two
    /// separators in a row. With `required_only`, the blocks after the one that ends
    /// the user-agent are not indexed: the full parser then reads no further either,
    /// and the rest of the line only has to hold no quote (which could change how the
    /// full parser reads the quoted fields) and no carriage return (which it rejects
    /// wherever it is).
    #[inline]
    fn fill(&mut self, line: &[u8], required_only: bool) -> Option<()> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = avx2::Avx2::detect() {
            // SAFETY: `Avx2::detect` found that the processor has AVX2, BMI1 and POPCNT.
            return unsafe { self.fill_avx2(line, required_only, avx2) };
        }
        self.scan(line, required_only, Portable)
    }

    /// [`Index::scan`] compiled for AVX2, with the bit instructions of the same
    /// processors (`tzcnt`, `blsr`, `popcnt`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,popcnt")]
    fn fill_avx2(&mut self, line: &[u8], required_only: bool, avx2: avx2::Avx2) -> Option<()> {
        self.scan(line, required_only, avx2)
    }

    #[inline(always)]
    fn scan(&mut self, line: &[u8], required_only: bool, kernel: impl Kernel) -> Option<()> {
        if line.len() < 64 {
            return None;
        }
        let mut carry = Carry {
            seps_seen: 0,
            quotes_seen: 0,
            inside: 0,
            after_sep: 1,
            after_space: 1,
        };
        let mut blocks = line.chunks_exact(64);
        let mut base = 0;
        for block in blocks.by_ref() {
            let block: &[u8; 64] = block.try_into().ok()?;
            self.block(&mut carry, line, base, 64, kernel.masks(block)?)?;
            base += 64;
            if required_only && carry.seps_seen >= LATER {
                // The separator after the user-agent is behind: see `fill`.
                no_quote_or_cr_from(line, base, kernel)?;
                self.seps_seen = carry.seps_seen;
                self.quotes_seen = carry.quotes_seen;
                return Some(());
            }
        }
        let rest = blocks.remainder().len();
        if rest > 0 {
            // The line's last 64 bytes, of which the first 64 - rest were seen.
            let last: &[u8; 64] = line[line.len() - 64..].try_into().ok()?;
            let Masks { spaces, quotes } = kernel.masks(last)?;
            let unseen = 64 - rest as u32;
            let masks = Masks {
                spaces: spaces >> unseen,
                quotes: quotes >> unseen,
            };
            self.block(&mut carry, line, base, rest as u32, masks)?;
        }
        self.seps_seen = carry.seps_seen;
        self.quotes_seen = carry.quotes_seen;
        Some(())
    }

    /// Takes in the `len` bytes (1 to 64) of `line` at `base`, given their masks.
    #[inline(always)]
    fn block(
        &mut self,
        c: &mut Carry,
        line: &[u8],
        base: usize,
        len: u32,
        Masks { spaces, quotes }: Masks,
    ) -> Option<()> {
        let after_space = c.after_space;
        c.after_space = spaces >> (len - 1) & 1;
        let mut inside = c.inside;
        if quotes != 0 {
            // Only a quote with a space or an end of the line on one side can open or
            // close a quoted field for the full parser too: one inside a token (`a"b`)
            // is text.
            let then_blank = line.get(base + len as usize).is_none_or(|&c| c == b' ');
            let blank_before = (spaces << 1) | after_space;
            let blank_after = (spaces >> 1) | u64::from(then_blank) << (len - 1);
            let quotes = quotes & (blank_before | blank_after);
            let mut q = quotes;
            while q != 0 {
                *self.quotes.get_mut(c.quotes_seen)? = base + q.trailing_zeros() as usize;
                c.quotes_seen += 1;
                q &= q - 1;
            }
            // Bit i: an odd number of quotes at or before byte i, so from an opening
            // quote up to (not including) its closing one.
            inside ^= prefix_xor(quotes);
            c.inside = ((inside as i64) >> 63) as u64;
        }
        let mut seps = spaces & !inside;
        // A separator right after another, or first in the line: an empty token.
        if seps & ((seps << 1) | c.after_sep) != 0 {
            return None;
        }
        c.after_sep = seps >> 63;
        let seen = c.seps_seen;
        if seps != 0 && seen < TOKENS {
            // The first four separators are written whatever their number (into the
            // slack at the end of `cuts` if need be), the rest one by one: most blocks
            // hold four or fewer.
            for k in 1..=4 {
                self.cuts[seen + k] = base + seps.trailing_zeros() as usize;
                seps &= seps.wrapping_sub(1);
            }
            let mut k = 5;
            while seps != 0 && seen + k <= TOKENS {
                self.cuts[seen + k] = base + seps.trailing_zeros() as usize;
                seps &= seps - 1;
                k += 1;
            }
            c.seps_seen = (seen + (spaces & !inside).count_ones() as usize).min(TOKENS);
        }
        Some(())
    }
}

/// `None` if `line` (at least 64 bytes long) holds a quote or a carriage return at or
/// after `from`.
#[inline(always)]
fn no_quote_or_cr_from(line: &[u8], from: usize, kernel: impl Kernel) -> Option<()> {
    let mut blocks = line[from..].chunks_exact(64);
    for block in blocks.by_ref() {
        if kernel.quotes_or_crs(block.try_into().ok()?) != 0 {
            return None;
        }
    }
    let rest = blocks.remainder().len();
    if rest > 0 {
        // The line's last 64 bytes, of which the first 64 - rest were seen.
        let last: &[u8; 64] = line[line.len() - 64..].try_into().ok()?;
        if kernel.quotes_or_crs(last) >> (64 - rest) != 0 {
            return None;
        }
    }
    Some(())
}

/// Bit i set: an odd number of bits at or below i in `x`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The spaces and quotes of a 64-byte block, bit i for byte i.
struct Masks {
    spaces: u64,
    quotes: u64,
}

/// Classifies 64 bytes at once.
trait Kernel: Copy {
    /// The masks of `block`, or `None` if it holds a carriage return.
    fn masks(self, block: &[u8; 64]) -> Option<Masks>;

    /// The mask of the quotes and carriage returns of `block`.
    fn quotes_or_crs(self, block: &[u8; 64]) -> u64;
}

/// SSE2 on x86_64 (part of its baseline), a loop the compiler vectorises elsewhere.
#[derive(Clone, Copy)]
struct Portable;

impl Kernel for Portable {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> Option<Masks> {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_setzero_si128,
        };
        let (mut spaces, mut quotes) = (0u64, 0u64);
        // SAFETY: SSE2 is part of the x86_64 baseline, and the four unaligned loads
        // read the 16 bytes at offsets 0, 16, 32 and 48 of the 64-byte array `block`.
        let cr = unsafe {
            let mut cr = _mm_setzero_si128();
            for i in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * i).cast::<__m128i>());
                let s = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b' ' as i8)));
                let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)));
                spaces |= u64::from(s as u16) << (16 * i);
                quotes |= u64::from(q as u16) << (16 * i);
                cr = _mm_or_si128(cr, _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8)));
            }
            _mm_movemask_epi8(cr)
        };
        (cr == 0).then_some(Masks { spaces, quotes })
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn quotes_or_crs(self, block: &[u8; 64]) -> u64 {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        let mut found = 0u64;
        // SAFETY: as in `masks`.
        unsafe {
            for i in 0..4 {
                let v = _mm_loadu_si128(block.as_ptr().add(16 * i).cast::<__m128i>());
                let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let cr = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8));
                found |= u64::from(_mm_movemask_epi8(_mm_or_si128(q, cr)) as u16) << (16 * i);
            }
        }
        found
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn masks(self, block: &[u8; 64]) -> Option<Masks> {
        let (mut spaces, mut quotes, mut cr) = (0u64, 0u64, false);
        for (i, &c) in block.iter().enumerate() {
            spaces |= u64::from(c == b' ') << i;
            quotes |= u64::from(c == b'"') << i;
            cr |= c == b'\r';
        }
        (!cr).then_some(Masks { spaces, quotes })
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn quotes_or_crs(self, block: &[u8; 64]) -> u64 {
        let mut found = 0u64;
        for (i, &c) in block.iter().enumerate() {
            found |= u64::from(c == b'"' || c == b'\r') << i;
        }
        found
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_or_si256,
        _mm256_set1_epi8,
    };

    use super::{Kernel, Masks};

    /// AVX2 (with BMI1 and POPCNT, which every processor with AVX2 has), proven
    /// present: only [`Avx2::detect`] makes one.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(());

    impl Avx2 {
        /// `Some` when the processor has AVX2, BMI1 and POPCNT.
        #[inline(always)]
        pub(super) fn detect() -> Option<Avx2> {
            let present = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("bmi1")
                && std::is_x86_feature_detected!("popcnt");
            present.then_some(Avx2(()))
        }
    }

    impl Kernel for Avx2 {
        /// 32 bytes a comparison; inlined into `Index::fill_avx2`, compiled for AVX2.
        #[inline(always)]
        fn masks(self, block: &[u8; 64]) -> Option<Masks> {
            let p = block.as_ptr().cast::<__m256i>();
            // SAFETY: an `Avx2` exists only once `Avx2::detect` found AVX2, and the two
            // unaligned loads read the 32 bytes at offsets 0 and 32 of the 64-byte array
            // `block`.
            let (low, high, cr) = unsafe {
                let (a, b) = (_mm256_loadu_si256(p), _mm256_loadu_si256(p.add(1)));
                let eq = |v, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
                let mask = |v, c: u8| u64::from(_mm256_movemask_epi8(eq(v, c)) as u32);
                (
                    (mask(a, b' '), mask(a, b'"')),
                    (mask(b, b' '), mask(b, b'"')),
                    _mm256_movemask_epi8(_mm256_or_si256(eq(a, b'\r'), eq(b, b'\r'))),
                )
            };
            (cr == 0).then_some(Masks {
                spaces: low.0 | high.0 << 32,
                quotes: low.1 | high.1 << 32,
            })
        }

        #[inline(always)]
        fn quotes_or_crs(self, block: &[u8; 64]) -> u64 {
            let p = block.as_ptr().cast::<__m256i>();
            // SAFETY: as in `masks`.
            unsafe {
                let eq = |v, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
                let found = |v| {
                    let either = _mm256_or_si256(eq(v, b'"'), eq(v, b'\r'));
                    u64::from(_mm256_movemask_epi8(either) as u32)
                };
                found(_mm256_loadu_si256(p)) | found(_mm256_loadu_si256(p.add(1))) << 32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{trim_end, LineParser, ParseError};
    use super::*;

    /// The fast path's reading of `line`, if it settles it.
    fn fast(line: &[u8], required_only: bool) -> Option<Record<'_>> {
        let mut r = Record::default();
        parse(
            trim_end(line),
            required_only,
            &mut LastDate::default(),
            &mut Index::new(),
            &mut r,
        )
        .map(|()| r)
    }

    /// `l` is settled by the fast path, for every field and for the required ones, as
    /// the full parser reads it.
    fn assert_settled_as_the_full_parser_reads(l: &str) {
        for (required, make) in [
            (false, LineParser::new as fn() -> LineParser),
            (true, LineParser::required_only),
        ] {
            let settled = fast(l.as_bytes(), required).expect(l);
            let reference = make().without_fast_path().parse(l.as_bytes());
            assert_eq!(Ok(settled), reference, "{l}");
        }
    }

    #[test]
    fn prefix_xor_marks_the_bytes_between_quotes() {
        assert_eq!(prefix_xor(0b1000_0100), 0b0111_1100);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
        assert_eq!(prefix_xor(1), u64::MAX);
        // Two quotes side by side (`""`): only the first byte is inside.
        assert_eq!(prefix_xor(0b0110_0000), 0b0010_0000);
    }

    /// The quotes and separators fall at every place of a 64-byte block (the key grows a
    /// byte at a time): each line is settled, as the full parser reads it. A quote inside
    /// a token (`="b.pdf"`) stays text wherever it falls.
    #[test]
    fn quotes_and_separators_anywhere_in_a_block_are_settled() {
        let mut lines = Vec::new();
        for n in 1..=130 {
            let key = "k".repeat(n);
            lines.push(format!(
                "owner bkt [06/Feb/2019:00:00:38 +0000] 1.2.3.4 - ID OP {key} \"GET /x?a=\"b.pdf\"&c=d HTTP/1.1\" 200 - 1 2 3 4 \"\" \"ua/1 x\" - HOST"
            ));
        }
        for l in &lines {
            assert_settled_as_the_full_parser_reads(l);
        }
    }

    #[test]
    fn the_fixtures_read_the_same_with_and_without_the_fast_path() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let mut read = 0;
        for sub in ["quirks", "logs"] {
            for entry in std::fs::read_dir(format!("{dir}/{sub}")).unwrap() {
                let path = entry.unwrap().path();
                if !path.is_file() || path.extension().is_some_and(|e| e == "gz") {
                    continue;
                }
                for line in std::fs::read(&path).unwrap().split(|&c| c == b'\n') {
                    for make in [LineParser::new, LineParser::required_only] {
                        let reference = make().without_fast_path().parse(line);
                        assert_eq!(make().parse(line), reference, "{}", path.display());
                    }
                    read += 1;
                }
            }
        }
        assert!(read > 50, "only {read} fixture lines");
    }

    #[test]
    fn generated_lines_are_settled_by_the_fast_path_as_the_full_parser_reads_them() {
        let mut logs = Vec::new();
        crate::synth::write_logs(&mut logs, 3, 5000).unwrap();
        let mut settled = 0;
        for line in logs.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            for required_only in [false, true] {
                let full = if required_only {
                    LineParser::required_only()
                } else {
                    LineParser::new()
                }
                .without_fast_path()
                .parse(line);
                if let Some(r) = fast(line, required_only) {
                    assert_eq!(Ok(r), full, "{}", String::from_utf8_lossy(line));
                    settled += 1;
                }
            }
        }
        // Nearly every generated line has the common shape, quotes inside presigned
        // URLs included.
        assert!(
            settled > 9900,
            "the fast path settled only {settled} of 10000"
        );
    }

    /// Generated lines with a few bytes replaced by spaces, quotes, dashes, carriage
    /// returns and letters at random places, from a fixed-seed LCG.
    fn mutated_lines() -> Vec<Vec<u8>> {
        let mut logs = Vec::new();
        crate::synth::write_logs(&mut logs, 5, 3000).unwrap();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut lines = Vec::new();
        for line in logs.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            for _ in 0..8 {
                let mut l = line.to_vec();
                for _ in 0..1 + next() % 3 {
                    let at = next() % l.len();
                    l[at] = b" \"\"-\rx0 "[next() % 8];
                }
                if next() % 4 == 0 {
                    l.truncate(next() % l.len());
                }
                lines.push(l);
            }
        }
        lines
    }

    #[test]
    fn mutated_lines_read_the_same_with_and_without_the_fast_path() {
        let (mut settled, mut left) = (0, 0);
        // Parsers that read every line one after the other, as the workers' do: what
        // the index holds from earlier lines must not matter.
        let mut reused = [LineParser::new(), LineParser::required_only()];
        for l in mutated_lines() {
            for (make, reused) in [LineParser::new, LineParser::required_only]
                .into_iter()
                .zip(&mut reused)
            {
                let reference = make().without_fast_path().parse(&l);
                assert_eq!(
                    make().parse(&l),
                    reference,
                    "{}",
                    String::from_utf8_lossy(&l)
                );
                assert_eq!(
                    reused.parse(&l),
                    reference,
                    "{}",
                    String::from_utf8_lossy(&l)
                );
            }
            match fast(&l, false) {
                Some(_) => settled += 1,
                None => left += 1,
            }
        }
        // Both paths are taken often: the comparison means something for each.
        assert!(
            settled > 5000 && left > 5000,
            "{settled} settled, {left} left"
        );
    }

    #[test]
    fn the_sse2_or_portable_kernel_indexes_as_the_one_chosen_at_run_time() {
        let same = |a: &Index, b: &Index| {
            a.seps_seen == b.seps_seen
                && a.cuts[1..=a.seps_seen] == b.cuts[1..=b.seps_seen]
                && a.quotes_seen == b.quotes_seen
                && a.quotes[..a.quotes_seen] == b.quotes[..b.quotes_seen]
        };
        for l in mutated_lines() {
            let line = trim_end(&l);
            for required_only in [false, true] {
                let (mut chosen, mut portable) = (Index::new(), Index::new());
                match (
                    chosen.fill(line, required_only),
                    portable.scan(line, required_only, Portable),
                ) {
                    (Some(()), Some(())) => {
                        assert!(
                            same(&chosen, &portable),
                            "{}",
                            String::from_utf8_lossy(line)
                        )
                    }
                    (a, b) => assert_eq!(a, b, "{}", String::from_utf8_lossy(line)),
                }
            }
        }
    }

    #[test]
    fn uncommon_shapes_go_to_the_full_parser() {
        let line = |middle: &str| {
            format!("owner bkt [06/Feb/2019:00:00:38 +0000] 1.2.3.4 - ID OP k {middle} - HOST")
        };
        let common = line(r#""GET / HTTP/1.1" 200 - 1 2 3 4 "-" "ua""#);
        for middle in [
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 "-" "ua""#,
            // Quotes inside a token are text to both parsers; so is a closing quote
            // after a space.
            r#""GET /x?a="b.pdf"&c=d HTTP/1.1" 200 - 1 2 3 4 "-" "ua/1 x"y""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 "- " """#,
        ] {
            let l = line(middle);
            let settled = fast(l.as_bytes(), false).expect(middle);
            let reference = LineParser::new().without_fast_path().parse(l.as_bytes());
            assert_eq!(Ok(settled), reference, "{middle}");
        }
        for middle in [
            // An inner quote, a quote-space inside, two spaces, a bare dash.
            r#""GET /" HTTP/1.1" 200 - 1 2 3 4 "-" "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 "a" b" "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 "-" "ua "x""#,
            r#""GET / HTTP/1.1" 200 -  1 2 3 4 "-" "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 - "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 "-" " ua""#,
            // Fields that do not validate, and a field too many before the referer.
            r#""GET / HTTP/1.1" 2000 - 1 2 3 4 "-" "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 x 4 "-" "ua""#,
            r#""GET / HTTP/1.1" 200 - 1 2 3 4 5 "-" "ua""#,
            "\"GET / HTTP/1.1\" 200 - 1 2 3 4 \"-\" \"u\ra\"",
        ] {
            assert!(fast(line(middle).as_bytes(), false).is_none(), "{middle}");
        }
        // A line that ends with its user-agent, the last required field, is settled.
        assert_settled_as_the_full_parser_reads(common.trim_end_matches(" - HOST"));
        let other_offset = common.replace("+0000", "-0500");
        assert!(fast(other_offset.as_bytes(), false).is_none());
        // A time whose second half runs on past its bracket: both halves of the time
        // are checked for their length, not the first alone.
        let time_runs_on = common.replace("+0000]", "+0000]x");
        assert!(fast(time_runs_on.as_bytes(), false).is_none());
        assert_eq!(
            LineParser::new().parse(time_runs_on.as_bytes()),
            LineParser::new()
                .without_fast_path()
                .parse(time_runs_on.as_bytes())
        );
        assert!(fast(format!(" {common}").as_bytes(), false).is_none());
        let bad_ip = common.replace("1.2.3.4", "1.2.3.400");
        assert!(fast(bad_ip.as_bytes(), false).is_none());
    }

    #[test]
    fn for_the_required_fields_the_line_after_the_user_agent_is_only_searched_for_quotes_and_crs() {
        let head = "owner bkt [06/Feb/2019:00:00:38 +0000] 10.0.0.1 - ID REST.GET.OBJECT k \"GET /k HTTP/1.1\" 200 - 1 2 3 4 \"-\" \"ua/1.0\"";
        let later = " v h SigV4 c AuthHeader host TLSv1.3 - Yes us-east-1".repeat(6);
        let line = |end: &str| format!("{head}{later}{end}");
        fn reference(l: &str, make: fn() -> LineParser) -> Result<Record<'_>, ParseError> {
            make().without_fast_path().parse(l.as_bytes())
        }

        // Two spaces in a row far after the user-agent: the whole line is left to the
        // full parser, which reads the required fields alone as the fast path does.
        let l = line(" x  y");
        assert!(fast(l.as_bytes(), false).is_none());
        let settled =
            fast(l.as_bytes(), true).expect("the blocks after the user-agent are not indexed");
        assert_eq!(Ok(settled), reference(&l, LineParser::required_only));
        assert_eq!(
            LineParser::new().parse(l.as_bytes()),
            reference(&l, LineParser::new)
        );

        // A quote or a carriage return there still sends the line to the full parser.
        for end in [" x\"", " \"x y\"", " x\ry"] {
            let l = line(end);
            assert!(fast(l.as_bytes(), true).is_none(), "{end:?}");
            for make in [LineParser::new, LineParser::required_only] {
                assert_eq!(make().parse(l.as_bytes()), reference(&l, make), "{end:?}");
            }
        }
        assert_eq!(
            LineParser::required_only().parse(line(" x\ry").as_bytes()),
            Err(ParseError::CarriageReturn)
        );
    }

    #[test]
    fn long_lines_cross_blocks_and_the_optional_fields_are_read() {
        let agent = "Mozilla/5.0 (X11; Linux x86_64) ".repeat(9);
        let key = "k".repeat(130);
        let l = format!(
            "owner bkt [06/Feb/2019:00:00:38 +0000] 10.0.0.1 - ID REST.GET.OBJECT {key} \"GET /{key} HTTP/1.1\" 200 - 1 22 333 4444 \"https://x/ y\" \"{agent}\" v h SigV4 c AuthHeader host TLSv1.3 - Yes us-east-1 extra more"
        );
        let r = fast(l.as_bytes(), false).expect("the common shape");
        assert_eq!(
            Ok(r.clone()),
            LineParser::new().without_fast_path().parse(l.as_bytes())
        );
        assert_eq!(r.user_agent, Some(agent.as_bytes()));
        assert_eq!(r.referer, Some(&b"https://x/ y"[..]));
        assert_eq!(r.turn_around_time, Some(4444));
        assert_eq!(r.access_point_arn, None);
        assert_eq!(r.source_region, Some(&b"us-east-1"[..]));
        let head = fast(l.as_bytes(), true).unwrap();
        assert_eq!((head.host_id, head.source_region), (None, None));
    }
}
