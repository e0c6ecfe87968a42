//! Which parsed records an audit looks at: `--bucket`, `--since`, `--until`,
//! `--operation`. Records outside the filter are still counted as parsed.

use crate::record::Record;

/// The record filter. Empty lists and `None` bounds let everything through.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Exact bucket names.
    pub buckets: Vec<Vec<u8>>,
    /// Inclusive lower bound, seconds since the epoch (UTC).
    pub since: Option<i64>,
    /// Exclusive upper bound, seconds since the epoch (UTC).
    pub until: Option<i64>,
    /// Exact operation names such as `REST.GET.OBJECT`.
    pub operations: Vec<Vec<u8>>,
}

impl Filter {
    /// Does the record pass every condition?
    #[inline]
    pub fn matches(&self, r: &Record<'_>) -> bool {
        if self.since.is_some_and(|s| r.time < s) || self.until.is_some_and(|u| r.time >= u) {
            return false;
        }
        if !self.buckets.is_empty() && !contains(&self.buckets, r.bucket) {
            return false;
        }
        self.operations.is_empty() || contains(&self.operations, r.operation)
    }
}

fn contains(list: &[Vec<u8>], value: Option<&[u8]>) -> bool {
    value.is_some_and(|v| list.iter().any(|x| x == v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bucket: &'static str, time: i64, op: &'static str) -> Record<'static> {
        Record {
            bucket: Some(bucket.as_bytes()),
            time,
            operation: Some(op.as_bytes()),
            ..Record::default()
        }
    }

    #[test]
    fn bounds_are_inclusive_then_exclusive() {
        let f = Filter {
            since: Some(100),
            until: Some(200),
            ..Filter::default()
        };
        assert!(!f.matches(&record("b", 99, "OP")));
        assert!(f.matches(&record("b", 100, "OP")));
        assert!(f.matches(&record("b", 199, "OP")));
        assert!(!f.matches(&record("b", 200, "OP")));
    }

    #[test]
    fn buckets_and_operations_match_exactly() {
        let f = Filter {
            buckets: vec![b"a".to_vec(), b"c".to_vec()],
            operations: vec![b"REST.GET.OBJECT".to_vec()],
            ..Filter::default()
        };
        assert!(f.matches(&record("a", 0, "REST.GET.OBJECT")));
        assert!(f.matches(&record("c", 0, "REST.GET.OBJECT")));
        assert!(!f.matches(&record("b", 0, "REST.GET.OBJECT")));
        assert!(!f.matches(&record("a", 0, "REST.PUT.OBJECT")));
        assert!(!f.matches(&Record::default()));
        assert!(Filter::default().matches(&Record::default()));
    }
}
