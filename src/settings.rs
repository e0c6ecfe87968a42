//! What a run looks for: which addresses are private, which records count, the
//! length of a timeline window and its zone, and which digests of its inputs it
//! takes. Built from the command line by [`crate::config`]; every layer below reads
//! it, none builds it.

use crate::classify::Classifier;
use crate::filter::Filter;
use crate::input::digest::Hashes;
use crate::time::Zone;

/// What the audit looks for: the classifier, the filter and the window length.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Which remote addresses are private.
    pub classifier: Classifier,
    /// Which parsed records the audit counts.
    pub filter: Filter,
    /// Window length in seconds: divides a day, or is a week.
    pub interval: i64,
    /// The digests to take of every input read (none unless asked for).
    pub hashes: Hashes,
    /// The zone windows of a day or a week are cut in, and times are shown in.
    pub zone: Zone,
    /// Learn each bucket's region from its access log records (the host header), as
    /// `--aws-ip-ranges` needs; CloudTrail always says it.
    pub regions: bool,
}
