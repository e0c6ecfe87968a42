//! Arbitrary bytes (plain or gzip) through the whole pipeline and every renderer (see
//! `oracle::pipeline`).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../oracle.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| oracle::pipeline(data));
