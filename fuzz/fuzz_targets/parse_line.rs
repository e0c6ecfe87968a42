//! One line of arbitrary bytes through both line parsers (see `oracle::parse_line`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracle.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::parse_line(data));
