//! Compliance rules for `vpce-audit check`: which buckets must only be reached through
//! the VPC endpoint, and which requests are exceptions.
//!
//! Rules come from a policy file (`--policy vpce-policy.toml`, see docs/check.md) and from
//! flags (`--require-private`, `--allow-cidr`, ...). Bucket names are matched with
//! IAM-style wildcards ([`super::wildcard`]); the first rule whose pattern matches a
//! bucket decides, file rules before flag rules. [`Rules::judge`] sorts each request
//! into compliant, excepted, blocked (HTTP 403) or violation.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::wildcard;
use crate::arn::account_of;
use crate::classify::{Class, VPCE_ACCESS_DENIED};
use crate::cloudtrail::is_endpoint_id;
use crate::escape;
use crate::record::Record;

/// The rules as written: the policy file's shape, with flags merged in. It is also
/// what an incremental state remembers, to refuse counters made under other rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSpec {
    /// Count public requests that were denied (HTTP 403) as violations too.
    #[serde(default)]
    pub count_blocked: bool,
    /// Exceptions that apply to every bucket rule.
    #[serde(default)]
    pub exceptions: Exceptions,
    /// The VPC endpoints (`vpce-…`) private traffic may come through, for every rule;
    /// a request through any other endpoint (named by CloudTrail) is a
    /// `foreign_endpoint` violation. Empty: any endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_vpce: Vec<String>,
    /// Bucket rules, first match wins.
    #[serde(default, rename = "bucket")]
    pub buckets: Vec<BucketRule>,
}

/// Requests that are not violations even when they come from the internet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exceptions {
    /// Public ranges that are allowed, e.g. a partner's office range
    /// (`203.0.113.0/24`, `198.51.100.7/32`); never a NAT gateway's address, which is
    /// how traffic leaves the endpoint.
    #[serde(default)]
    pub public_cidrs: Vec<String>,
    /// Allowed requesters: a 12-digit account id, or an ARN (wildcards allowed, e.g.
    /// `arn:aws:sts::111122223333:assumed-role/ci/*`).
    #[serde(default)]
    pub requesters: Vec<String>,
    /// Operations that are never violations, e.g. `REST.GET.BUCKETPOLICY` or
    /// `REST.*.LOGGING` (wildcards allowed).
    #[serde(default)]
    pub operations: Vec<String>,
}

/// What a bucket rule requires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// Every request must come through the VPC endpoint (a private address).
    #[default]
    Private,
    /// Not checked: lets a specific bucket out of a broader pattern that follows.
    Any,
}

impl Require {
    /// The name used in the policy file and every output.
    pub fn name(self) -> &'static str {
        match self {
            Require::Private => "private",
            Require::Any => "any",
        }
    }
}

/// One `[[bucket]]` table of the policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketRule {
    /// Bucket name or pattern (`*`, `?`).
    pub name: String,
    /// What is required; `private` unless said otherwise.
    #[serde(default)]
    pub require: Require,
    /// Are requests without a remote IP (S3 itself: lifecycle, replication, log
    /// delivery) fine? Yes unless said otherwise.
    #[serde(default = "yes")]
    pub allow_internal: bool,
    /// Exceptions for this rule only, added to the global ones.
    #[serde(default)]
    pub public_cidrs: Vec<String>,
    /// See [`Exceptions::requesters`].
    #[serde(default)]
    pub requesters: Vec<String>,
    /// See [`Exceptions::operations`].
    #[serde(default)]
    pub operations: Vec<String>,
    /// More endpoints allowed for this bucket, beside the global `allowed_vpce`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_vpce: Vec<String>,
}

fn yes() -> bool {
    true
}

impl BucketRule {
    /// A rule requiring `pattern` to be private, without exceptions of its own.
    pub fn private(pattern: &str) -> Self {
        BucketRule {
            name: pattern.to_string(),
            require: Require::Private,
            allow_internal: true,
            public_cidrs: Vec::new(),
            requesters: Vec::new(),
            operations: Vec::new(),
            allowed_vpce: Vec::new(),
        }
    }
}

/// A problem in the rules, for a person to fix.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The policy file is not valid TOML or has unknown or mistyped keys.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    /// A value is not what it should be.
    #[error("{0}")]
    Invalid(String),
}

impl RulesSpec {
    /// Parses a policy file's text.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        Ok(toml::from_str(text)?)
    }
}

/// The class of one request under the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgement {
    /// No rule covers the bucket, or its rule requires nothing.
    Unchecked,
    /// Through the VPC endpoint, or internal traffic where that is allowed.
    Compliant,
    /// From the internet, but covered by an exception.
    Excepted,
    /// From the internet and denied (HTTP 403): the bucket policy worked.
    Blocked,
    /// From the internet and not denied.
    Violation,
    /// Through a VPC endpoint the rules do not allow, and not denied.
    ForeignEndpoint,
}

/// The validated rules.
#[derive(Clone, Debug)]
pub struct Rules {
    spec: RulesSpec,
    rules: Vec<Rule>,
    global: Matchers,
}

#[derive(Clone, Debug)]
struct Rule {
    pattern: String,
    require: Require,
    allow_internal: bool,
    except: Matchers,
    /// The endpoints allowed (global ones included); empty: any.
    allowed_vpce: Vec<String>,
}

#[derive(Clone, Debug, Default)]
struct Matchers {
    cidrs: Vec<IpNet>,
    accounts: Vec<String>,
    requesters: Vec<String>,
    operations: Vec<String>,
}

impl Matchers {
    fn new(
        cidrs: &[String],
        requesters: &[String],
        operations: &[String],
    ) -> Result<Self, RulesError> {
        let mut m = Matchers::default();
        for c in cidrs {
            let net = c
                .parse::<IpNet>()
                .or_else(|_| c.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| RulesError::Invalid(format!("{c:?} is not a CIDR or IP address")))?;
            m.cidrs.push(net.trunc());
        }
        for r in requesters {
            if r.is_empty() {
                return Err(RulesError::Invalid("an allowed requester is empty".into()));
            }
            if r.len() == 12 && r.bytes().all(|b| b.is_ascii_digit()) {
                m.accounts.push(r.clone());
            } else {
                m.requesters.push(r.clone());
            }
        }
        for o in operations {
            if o.is_empty() {
                return Err(RulesError::Invalid("an ignored operation is empty".into()));
            }
            m.operations.push(o.clone());
        }
        Ok(m)
    }

    fn covers(&self, ip: Option<IpAddr>, requester: Option<&str>, operation: Option<&str>) -> bool {
        if let Some(ip) = ip {
            if self.cidrs.iter().any(|n| n.contains(&ip)) {
                return true;
            }
        }
        if let Some(who) = requester {
            if self.requesters.iter().any(|p| wildcard::matches(p, who)) {
                return true;
            }
            if !self.accounts.is_empty() {
                let account = account_of(who);
                if self.accounts.contains(&account) {
                    return true;
                }
            }
        }
        operation.is_some_and(|op| self.operations.iter().any(|p| wildcard::matches(p, op)))
    }
}

impl Rules {
    /// Validates `spec`: every CIDR must parse and every name be non-empty. An empty
    /// rule set is valid (a `check` that only cross-checks a bucket policy).
    pub fn new(spec: RulesSpec) -> Result<Self, RulesError> {
        let g = &spec.exceptions;
        let global = Matchers::new(&g.public_cidrs, &g.requesters, &g.operations)?;
        let mut rules = Vec::with_capacity(spec.buckets.len());
        for b in &spec.buckets {
            if b.name.is_empty() {
                return Err(RulesError::Invalid(
                    "a bucket rule has an empty name".into(),
                ));
            }
            let except = Matchers::new(&b.public_cidrs, &b.requesters, &b.operations)
                .map_err(|e| RulesError::Invalid(format!("bucket {:?}: {e}", b.name)))?;
            let mut allowed_vpce = spec.allowed_vpce.clone();
            allowed_vpce.extend(b.allowed_vpce.iter().cloned());
            for id in &allowed_vpce {
                if !is_endpoint_id(id) {
                    return Err(RulesError::Invalid(format!(
                        "bucket {:?}: allowed_vpce {id:?} is not a VPC endpoint id (vpce-…)",
                        b.name
                    )));
                }
            }
            rules.push(Rule {
                pattern: b.name.clone(),
                require: b.require,
                allow_internal: b.allow_internal,
                except,
                allowed_vpce,
            });
        }
        Ok(Rules {
            spec,
            rules,
            global,
        })
    }

    /// The rules as written.
    pub fn spec(&self) -> &RulesSpec {
        &self.spec
    }

    /// The index of the rule for `bucket`: the first whose pattern matches.
    pub fn rule_for(&self, bucket: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| wildcard::matches(&r.pattern, bucket))
    }

    /// The pattern and requirement of rule `index`.
    pub fn describe(&self, index: usize) -> (&str, Require) {
        let r = &self.rules[index];
        (&r.pattern, r.require)
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Are there no rules?
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Judges one request of class `class` under rule `rule` (from [`Rules::rule_for`]).
    pub fn judge(&self, rule: usize, r: &Record<'_>, class: Class) -> Judgement {
        let rule = &self.rules[rule];
        if rule.require == Require::Any {
            return Judgement::Unchecked;
        }
        let refused = r.http_status == Some(403);
        match class {
            // Refused by the endpoint's own policy: it worked.
            Class::Private if r.error_code == Some(VPCE_ACCESS_DENIED.as_bytes()) => {
                return Judgement::Blocked
            }
            Class::Private => {
                let foreign = r.vpc_endpoint_id.is_some_and(|id| {
                    !rule.allowed_vpce.is_empty()
                        && !rule.allowed_vpce.iter().any(|a| a.as_bytes() == id)
                });
                return match (foreign, refused) {
                    (false, _) => Judgement::Compliant,
                    (true, true) => Judgement::Blocked,
                    (true, false) => Judgement::ForeignEndpoint,
                };
            }
            Class::Internal if rule.allow_internal => return Judgement::Compliant,
            Class::Internal | Class::Public => {}
        }
        let requester = r.requester.map(escape::lossy);
        let operation = r.operation.map(escape::lossy);
        let (who, op) = (requester.as_deref(), operation.as_deref());
        if self.global.covers(r.remote_ip, who, op) || rule.except.covers(r.remote_ip, who, op) {
            Judgement::Excepted
        } else if refused {
            Judgement::Blocked
        } else {
            Judgement::Violation
        }
    }

    /// Do blocked attempts count as violations?
    pub fn count_blocked(&self) -> bool {
        self.spec.count_blocked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
count_blocked = false

[exceptions]
public_cidrs = ["203.0.113.0/24"]
requesters = ["444455556666"]

[[bucket]]
name = "public-assets"
require = "any"

[[bucket]]
name = "shared-*"
public_cidrs = ["198.51.100.7"]
requesters = ["arn:aws:sts::111122223333:assumed-role/ci/*"]
operations = ["REST.GET.BUCKETPOLICY"]
allow_internal = false
"#;

    fn rec<'a>(ip: Option<&str>, who: &'a str, op: &'a str, status: u16) -> Record<'a> {
        Record {
            bucket: Some(b"shared-data"),
            remote_ip: ip.map(|i| i.parse().unwrap()),
            requester: Some(who.as_bytes()),
            operation: Some(op.as_bytes()),
            http_status: Some(status),
            ..Record::default()
        }
    }

    fn judge(rules: &Rules, bucket: &str, r: &Record<'_>, class: Class) -> Judgement {
        match rules.rule_for(bucket) {
            Some(i) => rules.judge(i, r, class),
            None => Judgement::Unchecked,
        }
    }

    #[test]
    fn the_policy_file_parses_and_judges() {
        let rules = Rules::new(RulesSpec::from_toml(FILE).unwrap()).unwrap();
        let role = "arn:aws:sts::999988887777:assumed-role/app/i-1";
        let get = "REST.GET.OBJECT";
        let v = |r: &Record<'_>, c| judge(&rules, "shared-data", r, c);
        assert_eq!(
            v(&rec(Some("10.0.0.1"), role, get, 200), Class::Private),
            Judgement::Compliant
        );
        assert_eq!(
            v(&rec(Some("52.1.2.3"), role, get, 200), Class::Public),
            Judgement::Violation
        );
        assert_eq!(
            v(&rec(Some("52.1.2.3"), role, get, 403), Class::Public),
            Judgement::Blocked
        );
        assert_eq!(
            v(&rec(Some("203.0.113.9"), role, get, 200), Class::Public),
            Judgement::Excepted
        );
        assert_eq!(
            v(&rec(Some("198.51.100.7"), role, get, 200), Class::Public),
            Judgement::Excepted
        );
        let ci = "arn:aws:sts::111122223333:assumed-role/ci/run-42";
        assert_eq!(
            v(&rec(Some("52.1.2.3"), ci, get, 200), Class::Public),
            Judgement::Excepted
        );
        let other = "arn:aws:iam::444455556666:user/bob";
        assert_eq!(
            v(&rec(Some("52.1.2.3"), other, get, 200), Class::Public),
            Judgement::Excepted
        );
        let pol = "REST.GET.BUCKETPOLICY";
        assert_eq!(
            v(&rec(Some("52.1.2.3"), role, pol, 200), Class::Public),
            Judgement::Excepted
        );
        assert_eq!(
            v(&rec(None, "AmazonS3", get, 200), Class::Internal),
            Judgement::Violation
        );
        let any = rec(Some("52.1.2.3"), role, get, 200);
        assert_eq!(
            judge(&rules, "public-assets", &any, Class::Public),
            Judgement::Unchecked
        );
        assert_eq!(
            judge(&rules, "elsewhere", &any, Class::Public),
            Judgement::Unchecked
        );
    }

    #[test]
    fn internal_traffic_is_fine_by_default() {
        let spec = RulesSpec {
            buckets: vec![BucketRule::private("b")],
            ..RulesSpec::default()
        };
        let rules = Rules::new(spec).unwrap();
        let r = rec(None, "AmazonS3", "S3.TRANSITION.OBJECT", 200);
        assert_eq!(rules.judge(0, &r, Class::Internal), Judgement::Compliant);
    }

    #[test]
    fn endpoints_other_than_the_allowed_ones_are_violations_of_their_own() {
        let spec = RulesSpec::from_toml(
            "allowed_vpce = [\"vpce-0a1b2c3d4e5f60718\"]\n[[bucket]]\nname = \"shared-*\"\nallowed_vpce = [\"vpce-0f9e8d7c6b5a43210\"]\n[[bucket]]\nname = \"open\"",
        )
        .unwrap();
        let rules = Rules::new(spec).unwrap();
        let through =
            |vpce: Option<&'static str>, status: u16, code: Option<&'static str>| Record {
                vpc_endpoint_id: vpce.map(str::as_bytes),
                error_code: code.map(str::as_bytes),
                ..rec(
                    Some("10.0.0.1"),
                    "arn:aws:iam::1:user/u",
                    "GetObject",
                    status,
                )
            };
        let shared = rules.rule_for("shared-data").unwrap();
        let v = |r: &Record<'_>| rules.judge(shared, r, Class::Private);
        assert_eq!(
            v(&through(Some("vpce-0a1b2c3d4e5f60718"), 200, None)),
            Judgement::Compliant
        );
        assert_eq!(
            v(&through(Some("vpce-0f9e8d7c6b5a43210"), 200, None)),
            Judgement::Compliant
        );
        assert_eq!(
            v(&through(Some("vpce-0bad0bad0bad0bad0"), 200, None)),
            Judgement::ForeignEndpoint
        );
        assert_eq!(
            v(&through(
                Some("vpce-0bad0bad0bad0bad0"),
                403,
                Some("AccessDenied")
            )),
            Judgement::Blocked
        );
        assert_eq!(
            v(&through(None, 200, None)),
            Judgement::Compliant,
            "endpoint unknown"
        );
        assert_eq!(
            v(&through(
                Some("vpce-0a1b2c3d4e5f60718"),
                403,
                Some("VpceAccessDenied")
            )),
            Judgement::Blocked
        );
        let bad =
            RulesSpec::from_toml("allowed_vpce = [\"vpc-123\"]\n[[bucket]]\nname = \"x\"").unwrap();
        assert!(Rules::new(bad)
            .unwrap_err()
            .to_string()
            .contains("not a VPC endpoint id"));
    }

    #[test]
    fn mistakes_are_refused() {
        assert!(RulesSpec::from_toml("[[bucket]]\nnmae = \"x\"").is_err());
        assert!(RulesSpec::from_toml("[[bucket]]\nname = \"x\"\nrequire = \"public\"").is_err());
        let bad = RulesSpec::from_toml(
            "[exceptions]\npublic_cidrs = [\"office\"]\n[[bucket]]\nname = \"x\"",
        )
        .unwrap();
        let e = Rules::new(bad).unwrap_err().to_string();
        assert!(e.contains("\"office\" is not a CIDR"), "{e}");
    }
}
