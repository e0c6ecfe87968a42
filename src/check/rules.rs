//! Compliance rules for `vpce-audit check`: which buckets must only be reached through
//! the VPC endpoint, and which requests are exceptions.
//!
//! Rules come from a policy file (`--policy vpce-policy.toml`, see docs/check.md) and from
//! flags (`--require-private`, `--allow-cidr`, ...). Bucket names are matched with
//! IAM-style wildcards ([`super::wildcard`]); the first rule whose pattern matches a
//! bucket decides, file rules before flag rules. [`Rules::judge`] sorts each request
//! into compliant, denied through the endpoint, excepted, blocked (a policy denied it),
//! rejected (refused before any policy) or violation. Exceptions that cover every
//! address, requester or operation are called out ([`Rules::warnings`]): they can
//! hide exactly what the check exists to find.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::wildcard;
use crate::arn::account_of;
use crate::classify::{Class, Outcome, VPCE_ACCESS_DENIED};
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
    /// The policy file is not valid TOML or has unknown or mistyped keys (the TOML
    /// error's own text, which says where: not repeated as a source).
    #[error(transparent)]
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
    /// Through the VPC endpoint, but denied (HTTP 403 `AccessDenied`): the bucket
    /// policy names another endpoint, or an endpoint policy refuses. Compliant as to
    /// the network, and a warning.
    PrivateDenied,
    /// From the internet, but covered by this exception.
    Excepted(Exception),
    /// From the internet and denied by a policy (HTTP 403 `AccessDenied`): the bucket
    /// policy worked.
    Blocked,
    /// From the internet and refused before any policy was evaluated (a bad
    /// signature, an unknown key, an expired token): not let through, and no proof
    /// that the bucket policy works.
    Rejected,
    /// From the internet and let through.
    Violation,
    /// Through a VPC endpoint the rules do not allow, and not denied.
    ForeignEndpoint,
}

/// Which exception let a request through: one of the global ones or of a bucket
/// rule's own, by kind and position in its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Exception {
    /// The rule whose own exception it is; `None` for the global exceptions.
    pub rule: Option<usize>,
    pub kind: ExceptionKind,
    /// Its position in the list of its kind.
    pub index: usize,
}

/// The kinds of exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    /// A public range (`public_cidrs`, `--allow-cidr`).
    Cidr,
    /// A requester or account (`requesters`, `--allow-requester`).
    Requester,
    /// An operation (`operations`, `--ignore-operation`).
    Operation,
}

/// The validated rules.
#[derive(Clone, Debug)]
pub struct Rules {
    spec: RulesSpec,
    rules: Vec<Rule>,
    global: Matchers,
    warnings: Vec<String>,
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
    /// Account ids, with their position in the requester list.
    accounts: Vec<(String, usize)>,
    /// Requester patterns, with their position in the requester list.
    requesters: Vec<(String, usize)>,
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
            m.cidrs.push(canonical_net(net));
        }
        for (i, r) in requesters.iter().enumerate() {
            if r.is_empty() {
                return Err(RulesError::Invalid("an allowed requester is empty".into()));
            }
            if r.len() == 12 && r.bytes().all(|b| b.is_ascii_digit()) {
                m.accounts.push((r.clone(), i));
            } else {
                m.requesters.push((r.clone(), i));
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

    /// The first exception that covers a request, by kind and position. An
    /// IPv4-mapped IPv6 address (`::ffff:52.1.2.3`) is matched by its IPv4 form, as it
    /// is classified.
    fn covers(
        &self,
        ip: Option<IpAddr>,
        requester: Option<&str>,
        operation: Option<&str>,
    ) -> Option<(ExceptionKind, usize)> {
        if let Some(ip) = ip.map(|ip| ip.to_canonical()) {
            if let Some(i) = self.cidrs.iter().position(|n| n.contains(&ip)) {
                return Some((ExceptionKind::Cidr, i));
            }
        }
        if let Some(who) = requester {
            if let Some((_, i)) = self
                .requesters
                .iter()
                .find(|(p, _)| wildcard::matches(p, who))
            {
                return Some((ExceptionKind::Requester, *i));
            }
            if !self.accounts.is_empty() {
                let account = account_of(who);
                if let Some((_, i)) = self.accounts.iter().find(|(a, _)| *a == account) {
                    return Some((ExceptionKind::Requester, *i));
                }
            }
        }
        let op = operation?;
        let i = self
            .operations
            .iter()
            .position(|p| wildcard::matches(p, op))?;
        Some((ExceptionKind::Operation, i))
    }
}

/// A range as it is matched: an IPv4-mapped IPv6 range (`::ffff:203.0.113.0/120`) as
/// its IPv4 form, host bits cleared.
fn canonical_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net {
        if let (Some(v4), true) = (v6.addr().to_ipv4_mapped(), v6.prefix_len() >= 96) {
            if let Ok(n) = ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96) {
                return IpNet::V4(n.trunc());
            }
        }
    }
    net.trunc()
}

/// Does a requester pattern let every requester through (`*`, `arn:*`, `arn:aws:*`)?
fn covers_everyone(pattern: &str) -> bool {
    ["", "arn:", "arn:aws:"]
        .iter()
        .any(|prefix| wildcard::covers_prefix(pattern, prefix))
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
        let warnings = catch_alls(&spec);
        Ok(Rules {
            spec,
            rules,
            global,
            warnings,
        })
    }

    /// The exceptions that let everything through, in words: a range that covers
    /// every address (`0.0.0.0/0`, `::/0`), a requester pattern that matches everyone
    /// (`*`), an operation pattern that matches every operation. Empty when there are
    /// none.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The exception `e` as written, with where it is: `public_cidrs 203.0.113.0/24
    /// (every rule)`.
    pub fn exception(&self, e: Exception) -> String {
        let (cidrs, requesters, operations, scope) = match e.rule {
            None => {
                let g = &self.spec.exceptions;
                (
                    &g.public_cidrs,
                    &g.requesters,
                    &g.operations,
                    "every rule".to_string(),
                )
            }
            Some(i) => {
                let b = &self.spec.buckets[i];
                (
                    &b.public_cidrs,
                    &b.requesters,
                    &b.operations,
                    format!("rule {}", b.name),
                )
            }
        };
        let (key, list) = match e.kind {
            ExceptionKind::Cidr => ("public_cidrs", cidrs),
            ExceptionKind::Requester => ("requesters", requesters),
            ExceptionKind::Operation => ("operations", operations),
        };
        let value = list.get(e.index).map_or("?", String::as_str);
        format!("{key} {value} ({scope})")
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

    /// Can rule `index` let a public request through by its address or requester (a
    /// CIDR, account or requester exception, of the rule or of every rule)? Only then
    /// can an exception hide a requester that also came through the endpoint.
    pub fn excepts_addresses_or_requesters(&self, index: usize) -> bool {
        [&self.global, &self.rules[index].except]
            .iter()
            .any(|m| !(m.cidrs.is_empty() && m.accounts.is_empty() && m.requesters.is_empty()))
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
    pub fn judge(&self, index: usize, r: &Record<'_>, class: Class) -> Judgement {
        let rule = &self.rules[index];
        if rule.require == Require::Any {
            return Judgement::Unchecked;
        }
        let outcome = Outcome::of(r.http_status, r.error_code);
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
                return match (foreign, outcome) {
                    (true, Outcome::Allowed) => Judgement::ForeignEndpoint,
                    (true, _) => Judgement::Blocked,
                    (false, Outcome::Denied) => Judgement::PrivateDenied,
                    (false, _) => Judgement::Compliant,
                };
            }
            Class::Internal if rule.allow_internal => return Judgement::Compliant,
            Class::Internal | Class::Public => {}
        }
        let requester = r.requester.map(escape::lossy);
        let operation = r.operation.map(escape::lossy);
        let (who, op) = (requester.as_deref(), operation.as_deref());
        let global = self.global.covers(r.remote_ip, who, op).map(|c| (None, c));
        let own = || {
            rule.except
                .covers(r.remote_ip, who, op)
                .map(|c| (Some(index), c))
        };
        if let Some((rule, (kind, index))) = global.or_else(own) {
            return Judgement::Excepted(Exception { rule, kind, index });
        }
        match outcome {
            Outcome::Denied => Judgement::Blocked,
            Outcome::Rejected => Judgement::Rejected,
            Outcome::Allowed => Judgement::Violation,
        }
    }

    /// Do blocked attempts count as violations?
    pub fn count_blocked(&self) -> bool {
        self.spec.count_blocked
    }
}

/// The catch-all exceptions of `spec`, in words.
fn catch_alls(spec: &RulesSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |cidrs: &[String],
                     requesters: &[String],
                     operations: &[String],
                     scope: &str| {
        for c in cidrs {
            let net = c.parse::<IpNet>().ok().map(canonical_net);
            if net.is_some_and(|n| n.prefix_len() == 0) {
                out.push(format!(
                    "public_cidrs {c} ({scope}) covers every address: no public request can be a violation"
                ));
            }
        }
        for r in requesters.iter().filter(|r| covers_everyone(r)) {
            out.push(format!(
                "requesters {r} ({scope}) matches every requester: no public request can be a violation"
            ));
        }
        for o in operations.iter().filter(|o| wildcard::covers_prefix(o, "")) {
            out.push(format!(
                "operations {o} ({scope}) matches every operation: no public request can be a violation"
            ));
        }
    };
    let g = &spec.exceptions;
    check(&g.public_cidrs, &g.requesters, &g.operations, "every rule");
    for b in &spec.buckets {
        check(
            &b.public_cidrs,
            &b.requesters,
            &b.operations,
            &format!("rule {}", b.name),
        );
    }
    out
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
        let excepted = |r: &Record<'_>| match v(r, Class::Public) {
            Judgement::Excepted(e) => rules.exception(e),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            excepted(&rec(Some("203.0.113.9"), role, get, 200)),
            "public_cidrs 203.0.113.0/24 (every rule)"
        );
        assert_eq!(
            excepted(&rec(Some("198.51.100.7"), role, get, 200)),
            "public_cidrs 198.51.100.7 (rule shared-*)"
        );
        let ci = "arn:aws:sts::111122223333:assumed-role/ci/run-42";
        assert_eq!(
            excepted(&rec(Some("52.1.2.3"), ci, get, 200)),
            "requesters arn:aws:sts::111122223333:assumed-role/ci/* (rule shared-*)"
        );
        let other = "arn:aws:iam::444455556666:user/bob";
        assert_eq!(
            excepted(&rec(Some("52.1.2.3"), other, get, 200)),
            "requesters 444455556666 (every rule)"
        );
        let pol = "REST.GET.BUCKETPOLICY";
        assert_eq!(
            excepted(&rec(Some("52.1.2.3"), role, pol, 200)),
            "operations REST.GET.BUCKETPOLICY (rule shared-*)"
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
        assert!(rules.warnings().is_empty(), "{:?}", rules.warnings());
    }

    #[test]
    fn denials_are_told_apart_by_network_and_error_code() {
        let rules = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("b")],
            ..RulesSpec::default()
        })
        .unwrap();
        let judge = |ip: &str, status: u16, code: Option<&'static str>, class| {
            let r = Record {
                error_code: code.map(str::as_bytes),
                ..rec(Some(ip), "arn:aws:iam::1:user/u", "REST.GET.OBJECT", status)
            };
            rules.judge(0, &r, class)
        };
        use Class::{Private, Public};
        // The blog post's own 403 came through the endpoint: a policy naming another vpce.
        assert_eq!(
            judge("10.0.3.57", 403, Some("AccessDenied"), Private),
            Judgement::PrivateDenied
        );
        assert_eq!(
            judge("10.0.3.57", 403, None, Private),
            Judgement::PrivateDenied
        );
        assert_eq!(
            judge("10.0.3.57", 403, Some("SignatureDoesNotMatch"), Private),
            Judgement::Compliant
        );
        assert_eq!(judge("10.0.3.57", 200, None, Private), Judgement::Compliant);
        assert_eq!(
            judge("52.1.2.3", 403, Some("AccessDenied"), Public),
            Judgement::Blocked
        );
        assert_eq!(
            judge("52.1.2.3", 403, Some("SignatureDoesNotMatch"), Public),
            Judgement::Rejected
        );
        assert_eq!(
            judge("52.1.2.3", 403, Some("InvalidAccessKeyId"), Public),
            Judgement::Rejected
        );
        assert_eq!(
            judge("52.1.2.3", 400, Some("ExpiredToken"), Public),
            Judgement::Rejected
        );
        // A 403 for another reason got past the policies: let through, a violation.
        assert_eq!(
            judge("52.1.2.3", 403, Some("InvalidObjectState"), Public),
            Judgement::Violation
        );
        assert_eq!(
            judge("52.1.2.3", 404, Some("NoSuchKey"), Public),
            Judgement::Violation
        );
    }

    #[test]
    fn mapped_ipv6_addresses_match_exceptions_by_their_ipv4_form() {
        let spec = RulesSpec {
            exceptions: Exceptions {
                public_cidrs: vec!["203.0.113.0/24".into(), "::ffff:198.51.100.0/120".into()],
                ..Exceptions::default()
            },
            buckets: vec![BucketRule::private("b")],
            ..RulesSpec::default()
        };
        let rules = Rules::new(spec).unwrap();
        let j = |ip| {
            rules.judge(
                0,
                &rec(Some(ip), "-", "REST.GET.OBJECT", 200),
                Class::Public,
            )
        };
        assert!(matches!(j("::ffff:203.0.113.9"), Judgement::Excepted(_)));
        assert!(matches!(j("198.51.100.20"), Judgement::Excepted(_)));
        assert!(matches!(j("::ffff:198.51.100.20"), Judgement::Excepted(_)));
        assert_eq!(j("::ffff:52.1.2.3"), Judgement::Violation);
        assert_eq!(j("2001:db8::1"), Judgement::Violation);
    }

    #[test]
    fn catch_all_exceptions_are_called_out() {
        let spec = RulesSpec::from_toml(
            r#"
[exceptions]
public_cidrs = ["0.0.0.0/0", "203.0.113.0/24"]
requesters = ["arn:*"]

[[bucket]]
name = "b"
public_cidrs = ["::/0", "::ffff:0.0.0.0/96"]
requesters = ["*", "arn:aws:sts::1:assumed-role/ci/*"]
operations = ["*", "REST.GET.*"]
"#,
        )
        .unwrap();
        let w = Rules::new(spec).unwrap().warnings().to_vec();
        let subjects: Vec<&str> = w
            .iter()
            .map(|w| {
                w.split(" covers")
                    .next()
                    .unwrap()
                    .split(" matches")
                    .next()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            subjects,
            [
                "public_cidrs 0.0.0.0/0 (every rule)",
                "requesters arn:* (every rule)",
                "public_cidrs ::/0 (rule b)",
                "public_cidrs ::ffff:0.0.0.0/96 (rule b)",
                "requesters * (rule b)",
                "operations * (rule b)",
            ]
        );
        assert!(
            w[0].ends_with("no public request can be a violation"),
            "{}",
            w[0]
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
        // In a policy file too, unless the rule says otherwise.
        for (table, judgement) in [
            ("", Judgement::Compliant),
            ("allow_internal = false", Judgement::Violation),
        ] {
            let toml = format!("[[bucket]]\nname = \"b\"\n{table}\n");
            let rules = Rules::new(RulesSpec::from_toml(&toml).unwrap()).unwrap();
            assert_eq!(rules.judge(0, &r, Class::Internal), judgement, "{table}");
        }
    }

    #[test]
    fn rules_are_counted() {
        let none = Rules::new(RulesSpec::default()).unwrap();
        assert_eq!((none.is_empty(), none.len()), (true, 0));
        let two = Rules::new(RulesSpec {
            buckets: vec![BucketRule::private("a"), BucketRule::private("b*")],
            ..RulesSpec::default()
        })
        .unwrap();
        assert_eq!((two.is_empty(), two.len()), (false, 2));
    }

    #[test]
    fn requirements_are_named_as_in_the_policy_file() {
        for (require, name) in [(Require::Private, "private"), (Require::Any, "any")] {
            assert_eq!(require.name(), name);
            let toml = format!("[[bucket]]\nname = \"b\"\nrequire = \"{name}\"\n");
            assert_eq!(
                RulesSpec::from_toml(&toml).unwrap().buckets[0].require,
                require
            );
        }
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
