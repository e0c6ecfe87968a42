//! The counters of a check, per bucket: what one run saw, and (in a state) what every
//! run saw together. One type serves both, in the report and in the state file; two
//! counters merge with `+=`.

use std::ops::AddAssign;

use derive_more::AddAssign;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::{parse_rfc3339, rfc3339};

/// Per-bucket counters, for one run or summed over runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, AddAssign)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Requests that passed the filter.
    pub requests: u64,
    /// Through the VPC endpoint.
    pub private: u64,
    /// Over the internet.
    pub public: u64,
    /// S3's own requests (no remote IP).
    pub internal: u64,
    /// Requests through the endpoint that a policy denied (HTTP 403 `AccessDenied`):
    /// the bucket policy names another endpoint, or an endpoint policy refuses.
    pub private_denied: u64,
    /// Requests from outside the endpoint that an exception allows.
    pub excepted: u64,
    /// Requests from outside the endpoint that a policy denied (HTTP 403
    /// `AccessDenied`): blocked attempts.
    pub blocked: u64,
    /// Requests from outside the endpoint that S3 refused before any policy was
    /// evaluated (a bad signature, an unknown key, an expired token).
    pub public_rejected: u64,
    /// Requests from outside the endpoint that were let through.
    pub violations: u64,
    /// Succeeded public requests that the bucket policy says are denied.
    pub contradictions: u64,
    /// Of the violations, requests through a VPC endpoint the rules do not allow
    /// (`allowed_vpce`; known from CloudTrail). Absent from older state files: 0.
    #[serde(default)]
    pub foreign_endpoint: u64,
    /// The time of the earliest violation.
    pub first_violation: Earliest,
    /// The time of the latest violation.
    pub last_violation: Latest,
    /// The time of the latest request: how fresh the evidence is.
    pub last_request: Latest,
}

impl Counters {
    /// `self + o`, or `None` when a count would not fit in 64 bits: the checked sum
    /// for counters read from outside (a state file), where `+=` would wrap.
    pub fn checked_add(self, o: &Counters) -> Option<Counters> {
        let Counters {
            requests,
            private,
            public,
            internal,
            private_denied,
            excepted,
            blocked,
            public_rejected,
            violations,
            contradictions,
            foreign_endpoint,
            first_violation,
            last_violation,
            last_request,
        } = *o;
        let mut sum = self;
        for (mine, theirs) in [
            (&mut sum.requests, requests),
            (&mut sum.private, private),
            (&mut sum.public, public),
            (&mut sum.internal, internal),
            (&mut sum.private_denied, private_denied),
            (&mut sum.excepted, excepted),
            (&mut sum.blocked, blocked),
            (&mut sum.public_rejected, public_rejected),
            (&mut sum.violations, violations),
            (&mut sum.contradictions, contradictions),
            (&mut sum.foreign_endpoint, foreign_endpoint),
        ] {
            *mine = mine.checked_add(theirs)?;
        }
        sum.first_violation += first_violation;
        sum.last_violation += last_violation;
        sum.last_request += last_request;
        Some(sum)
    }

    /// Do the counters hold together: every request private, public or internal, and
    /// no judgement counting more requests than there are?
    pub fn consistent(&self) -> bool {
        let classes = self
            .private
            .checked_add(self.public)
            .and_then(|n| n.checked_add(self.internal));
        classes == Some(self.requests)
            && [
                self.private_denied,
                self.excepted,
                self.blocked,
                self.public_rejected,
                self.violations,
                self.contradictions,
                self.foreign_endpoint,
            ]
            .iter()
            .all(|&n| n <= self.requests)
    }
}

/// The earliest of the times it was given (seconds since the epoch), if any; written
/// as RFC 3339 text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Earliest(pub Option<i64>);

/// The latest of the times it was given, if any; written as RFC 3339 text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latest(pub Option<i64>);

impl AddAssign for Earliest {
    fn add_assign(&mut self, o: Earliest) {
        self.0 = match (self.0, o.0) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

impl AddAssign for Latest {
    fn add_assign(&mut self, o: Latest) {
        self.0 = self.0.max(o.0);
    }
}

/// A time as RFC 3339 text, or `null`.
fn write_time<S: Serializer>(time: Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    time.map(rfc3339).serialize(s)
}

/// A time as RFC 3339 text, seconds since the epoch (as older state files have it),
/// or `null`.
fn read_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Seconds(i64),
    }
    match Option::<Written>::deserialize(d)? {
        None => Ok(None),
        Some(Written::Seconds(n)) if crate::time::writable(n) => Ok(Some(n)),
        Some(Written::Seconds(n)) => Err(serde::de::Error::custom(format!(
            "{n} is outside the years 0000 to 9999"
        ))),
        Some(Written::Text(t)) => parse_rfc3339(&t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not an RFC 3339 time"))),
    }
}

impl Serialize for Earliest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_time(self.0, s)
    }
}

impl Serialize for Latest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        write_time(self.0, s)
    }
}

impl<'de> Deserialize<'de> for Earliest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_time(d).map(Earliest)
    }
}

impl<'de> Deserialize<'de> for Latest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        read_time(d).map(Latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_and_keep_the_earliest_and_latest_times() {
        let mut a = Counters {
            violations: 1,
            first_violation: Earliest(Some(50)),
            last_violation: Latest(Some(50)),
            ..Counters::default()
        };
        a += Counters {
            requests: 4,
            violations: 2,
            first_violation: Earliest(Some(10)),
            last_violation: Latest(Some(90)),
            ..Counters::default()
        };
        a += Counters::default();
        assert_eq!(
            (
                a.requests,
                a.violations,
                a.first_violation,
                a.last_violation
            ),
            (4, 3, Earliest(Some(10)), Latest(Some(90)))
        );
        let mut none = Counters::default();
        none += a;
        assert_eq!(none, a);
    }

    #[test]
    fn a_checked_sum_that_would_wrap_is_none() {
        let big = Counters {
            requests: u64::MAX,
            public: u64::MAX,
            ..Counters::default()
        };
        let one = Counters {
            requests: 1,
            public: 1,
            first_violation: Earliest(Some(5)),
            ..Counters::default()
        };
        assert_eq!(big.checked_add(&one), None);
        let sum = one.checked_add(&one).unwrap();
        assert_eq!((sum.requests, sum.first_violation), (2, Earliest(Some(5))));
        assert!(one.consistent() && big.consistent());
        let torn = Counters {
            requests: 1,
            violations: 2,
            public: 1,
            ..Counters::default()
        };
        assert!(!torn.consistent());
    }

    #[test]
    fn times_are_written_as_rfc3339_and_read_in_either_form() {
        let c = Counters {
            first_violation: Earliest(Some(1_549_411_238)),
            ..Counters::default()
        };
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["first_violation"], "2019-02-06T00:00:38Z");
        assert_eq!(json["last_violation"], serde_json::Value::Null);
        let back: Counters = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, c);
        let mut older = json;
        older["first_violation"] = 1_549_411_238.into();
        assert_eq!(serde_json::from_value::<Counters>(older).unwrap(), c);
        let mut bad = serde_json::to_value(c).unwrap();
        bad["first_violation"] = "yesterday".into();
        assert!(serde_json::from_value::<Counters>(bad).is_err());
    }
}
