//! The end-to-end and property tests, as one test crate: one build and one link for all
//! of them (see docs/development.md). One module per area; the helpers they share
//! are written once, in `util`.

mod util;

/// The fuzz targets' oracle (`fuzz/oracle.rs`), shared with `cargo fuzz`: replayed on
/// the regression seeds by `fuzz_regressions`, run on generated input by `parse_props`.
#[path = "../../fuzz/oracle.rs"]
mod oracle;

mod athena;
mod check;
mod cloudtrail;
mod custody;
mod fuzz_regressions;
mod hostile;
mod html;
mod layers;
mod limits;
mod output;
mod parse_props;
mod policy;
mod progress;
mod report;
mod requests;
mod s3;
mod schema;
mod state;
mod terminal;
