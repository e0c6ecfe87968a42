//! Bucket policy analysis: does the policy deny requests that do not come through an
//! allowed VPC endpoint, for which actions, and where are the gaps?
//!
//! The working pattern (the first verification method of the blog post that started
//! this project) is a `Deny` for everyone with `StringNotEquals` (or `...IfExists`,
//! `StringNotLike`) on `aws:SourceVpce`, `aws:SourceVpc`, or `NotIpAddress` on
//! `aws:VpcSourceIp`: a request from the internet has no such key, the negated operator is then true, and
//! the request gets HTTP 403. [`analyze`] takes the policy JSON as text (a file, or
//! what `GetBucketPolicy` returns) and reports per S3 action whether that denial
//! covers it, which endpoints, VPCs or addresses are allowed, and every gap found:
//! actions left out, `NotAction`/`NotPrincipal`/`NotResource` holes, principals or
//! resources that narrow the denial, extra conditions, inverted operators, condition
//! keys that do not exist, and `Allow` statements with `aws:SourceVpce` that deny
//! nothing. [`Analysis::claim`] answers, for one logged request, whether the policy
//! says it should have been denied: the `check --bucket-policy` cross-check.
//!
//! Element names (`Statement`, `Effect`, ...) are matched as AWS writes them; action
//! names, condition operators and condition keys ignore case, as IAM does.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::wildcard;
use crate::arn::account_of;

/// S3 actions every analysis reports on, with the resource they act on.
pub const ACTIONS: [(&str, Level); 21] = [
    ("s3:GetObject", Level::Object),
    ("s3:GetObjectVersion", Level::Object),
    ("s3:PutObject", Level::Object),
    ("s3:DeleteObject", Level::Object),
    ("s3:DeleteObjectVersion", Level::Object),
    ("s3:GetObjectAcl", Level::Object),
    ("s3:PutObjectAcl", Level::Object),
    ("s3:GetObjectTagging", Level::Object),
    ("s3:PutObjectTagging", Level::Object),
    ("s3:RestoreObject", Level::Object),
    ("s3:AbortMultipartUpload", Level::Object),
    ("s3:ListMultipartUploadParts", Level::Object),
    ("s3:ListBucket", Level::Bucket),
    ("s3:ListBucketVersions", Level::Bucket),
    ("s3:ListBucketMultipartUploads", Level::Bucket),
    ("s3:GetBucketLocation", Level::Bucket),
    ("s3:GetBucketPolicy", Level::Bucket),
    ("s3:PutBucketPolicy", Level::Bucket),
    ("s3:DeleteBucketPolicy", Level::Bucket),
    ("s3:GetBucketAcl", Level::Bucket),
    ("s3:PutBucketAcl", Level::Bucket),
];

/// What an action acts on: the bucket ARN or the objects below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Object,
    Bucket,
}

impl Level {
    /// The name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            Level::Object => "object",
            Level::Bucket => "bucket",
        }
    }
}

/// How well requests from outside the allowed network are denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    /// Nothing denies them.
    NotEnforced,
    /// Denied, but not for every principal, resource or condition.
    Partial,
    /// Denied for everyone on the whole bucket.
    Enforced,
}

impl Enforcement {
    /// The name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            Enforcement::NotEnforced => "not-enforced",
            Enforcement::Partial => "partial",
            Enforcement::Enforced => "enforced",
        }
    }
}

/// The result of [`analyze`].
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// The bucket the policy protects (given, or read from its `Resource`s).
    pub bucket: Option<String>,
    /// `enforced` if every reported action is, `not-enforced` if none is even in
    /// part, `partial` otherwise.
    pub status: Enforcement,
    /// Number of statements.
    pub statements: usize,
    /// One entry per reported action.
    pub actions: Vec<ActionReport>,
    /// Everything that lets a request from outside the endpoint through; empty
    /// when the policy is enforced.
    pub gaps: Vec<Gap>,
    #[serde(skip)]
    parsed: Vec<Statement>,
    #[serde(skip)]
    document: Value,
}

/// One action's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct ActionReport {
    pub action: String,
    pub level: Level,
    pub status: Enforcement,
    /// VPC endpoint ids allowed by every denying statement that names endpoints.
    pub endpoints: Vec<String>,
    /// VPC ids (`aws:SourceVpc`) allowed, likewise.
    pub vpcs: Vec<String>,
    /// Private ranges (`aws:VpcSourceIp`) allowed, likewise.
    pub vpc_source_ips: Vec<String>,
    /// `true` when a `Null` condition lets any VPC endpoint through.
    pub any_endpoint: bool,
    /// The statements (Sid, or `#N` by position) that deny it.
    pub statements: Vec<String>,
}

/// A kind of gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// An action is not denied outside the endpoint.
    ActionNotCovered,
    /// An action is denied only for some principals, resources or conditions.
    ActionPartial,
    /// `Allow` with a network condition: grants, denies nothing.
    AllowOnly,
    /// A condition key that does not exist or cannot identify endpoint traffic.
    WrongKey,
    /// An operator that makes the condition deny the endpoint, or never apply.
    WrongOperator,
    /// Endpoints allowed by one statement are denied by another.
    NoEndpointLeft,
}

impl GapKind {
    /// The name used in every output.
    pub fn name(self) -> &'static str {
        match self {
            GapKind::ActionNotCovered => "action-not-covered",
            GapKind::ActionPartial => "action-partial",
            GapKind::AllowOnly => "allow-only",
            GapKind::WrongKey => "wrong-key",
            GapKind::WrongOperator => "wrong-operator",
            GapKind::NoEndpointLeft => "no-endpoint-left",
        }
    }
}

/// One gap, with the statement it comes from and what it means.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub kind: GapKind,
    /// Sid or `#N`; empty for gaps of the policy as a whole.
    pub statement: String,
    /// The actions concerned; empty for gaps of a statement as a whole.
    pub actions: Vec<String>,
    pub message: String,
}

/// Why a policy could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a policy.
    #[error("{0}")]
    Shape(String),
}

fn shape(msg: impl Into<String>) -> PolicyError {
    PolicyError::Shape(msg.into())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Principal` or `NotPrincipal`, `Action` or `NotAction`, `Resource` or `NotResource`.
#[derive(Clone, Debug)]
enum Set {
    Only(Vec<String>),
    AllExcept(Vec<String>),
}

#[derive(Clone, Debug)]
struct Condition {
    /// As written, for messages.
    operator: String,
    key: String,
    values: Vec<String>,
}

/// The network a denying statement lets through.
#[derive(Clone, Debug, Default)]
struct Network {
    vpce: Option<BTreeSet<String>>,
    vpc: Option<BTreeSet<String>>,
    vpc_source_ip: Option<BTreeSet<String>>,
    any_endpoint: bool,
}

#[derive(Clone, Debug)]
struct Statement {
    name: String,
    effect: Effect,
    principal: Set,
    action: Set,
    resource: Set,
    conditions: Vec<Condition>,
    /// For a Deny whose network conditions are all sound: what they let through.
    network: Option<Network>,
    /// Conditions on other keys: the Deny applies only when they hold too.
    extra: Vec<String>,
}

/// Analyses a bucket policy given as JSON text: the policy document itself, or the
/// `{"Policy": "..."}` wrapper that `aws s3api get-bucket-policy` prints. `bucket`
/// names the bucket; without it, the first bucket named in a `Resource` is used.
pub fn analyze(json: &str, bucket: Option<&str>) -> Result<Analysis, PolicyError> {
    let mut doc: Value = serde_json::from_str(json)?;
    if let Some(Value::String(inner)) = doc.get("Policy") {
        if doc.get("Statement").is_none() {
            doc = serde_json::from_str(inner)?;
        }
    }
    let obj = doc
        .as_object()
        .ok_or_else(|| shape("a policy is a JSON object"))?;
    let statements = match obj.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err(shape("\"Statement\" must be an object or an array")),
        None => return Err(shape("no \"Statement\" in the policy")),
    };
    let mut gaps = Vec::new();
    let mut parsed = Vec::with_capacity(statements.len());
    for (i, s) in statements.into_iter().enumerate() {
        parsed.push(statement(s, i + 1, &mut gaps)?);
    }
    let bucket = bucket.map(str::to_string).or_else(|| infer_bucket(&parsed));
    let mut actions = Vec::new();
    let mut names: Vec<(String, Level)> =
        ACTIONS.iter().map(|&(a, l)| (a.to_string(), l)).collect();
    for s in &parsed {
        let (Set::Only(list) | Set::AllExcept(list)) = &s.action;
        for a in list {
            let known = names.iter().any(|(n, _)| n.eq_ignore_ascii_case(a));
            if !known && a.to_ascii_lowercase().starts_with("s3:") && !wildcard::is_pattern(a) {
                names.push((a.clone(), guess_level(a)));
            }
        }
    }
    let mut action_gaps = Vec::new();
    for (action, level) in names {
        actions.push(action_report(
            &parsed,
            &action,
            level,
            bucket.as_deref(),
            &mut action_gaps,
        ));
    }
    // One gap per reason, listing every action it concerns.
    for g in action_gaps {
        let same = gaps
            .iter_mut()
            .find(|x| x.kind == g.kind && x.statement == g.statement && x.message == g.message);
        match same {
            Some(x) => x.actions.extend(g.actions),
            None => gaps.push(g),
        }
    }
    allow_only_gaps(&parsed, &actions, &mut gaps);
    let status = if actions.iter().all(|a| a.status == Enforcement::Enforced) {
        Enforcement::Enforced
    } else if actions.iter().all(|a| a.status == Enforcement::NotEnforced) {
        Enforcement::NotEnforced
    } else {
        Enforcement::Partial
    };
    Ok(Analysis {
        bucket,
        status,
        statements: parsed.len(),
        actions,
        gaps,
        parsed,
        document: doc,
    })
}

/// What the policy says about one logged request that came from the internet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The IAM action the request's operation needs.
    pub action: String,
    /// The statement that should have denied it.
    pub statement: String,
}

impl Analysis {
    /// The policy document as parsed (unwrapped from `{"Policy": ...}`); as a JSON
    /// value it is equal for policies that differ only in layout.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// If a statement of this policy denies `operation` (an access log operation such
    /// as `REST.GET.OBJECT`) on `bucket`/`key` by `requester` unconditionally when
    /// the request is not through an allowed endpoint, returns which. Statements
    /// with extra conditions are left out: the log cannot tell whether they held.
    pub fn claim(
        &self,
        bucket: &str,
        key: Option<&str>,
        operation: &str,
        requester: Option<&str>,
    ) -> Option<Claim> {
        let (action, level) = action_for_operation(operation, key.is_some())?;
        let resource = match (level, key) {
            (Level::Object, Some(k)) => format!("arn:aws:s3:::{bucket}/{k}"),
            _ => format!("arn:aws:s3:::{bucket}"),
        };
        self.parsed
            .iter()
            .filter(|s| s.network.is_some() && s.extra.is_empty())
            .find(|s| {
                covers_action(&s.action, action)
                    && match &s.resource {
                        Set::Only(list) => list.iter().any(|p| wildcard::matches(p, &resource)),
                        Set::AllExcept(list) => {
                            !list.iter().any(|p| wildcard::matches(p, &resource))
                        }
                    }
                    && match &s.principal {
                        Set::Only(list) => {
                            list.iter().any(|p| p == "*")
                                || requester
                                    .is_some_and(|r| list.iter().any(|p| principal_is(p, r)))
                        }
                        Set::AllExcept(list) => {
                            !requester.is_some_and(|r| list.iter().any(|p| principal_is(p, r)))
                        }
                    }
            })
            .map(|s| Claim {
                action: action.to_string(),
                statement: s.name.clone(),
            })
    }
}

/// The IAM action an access log operation (or a CloudTrail event name: `GetObject`)
/// needs, and what it acts on. `has_key` tells object ACL operations from bucket ones.
/// `None` for operations the table does not know (the cross-check then says nothing
/// about them).
pub fn action_for_operation(operation: &str, has_key: bool) -> Option<(&'static str, Level)> {
    use Level::{Bucket, Object};
    Some(match operation {
        "REST.GET.OBJECT" | "REST.HEAD.OBJECT" | "REST.GET.OBJECT_ATTRIBUTES" => {
            ("s3:GetObject", Object)
        }
        "REST.PUT.OBJECT"
        | "REST.POST.OBJECT"
        | "REST.COPY.OBJECT"
        | "REST.COPY.OBJECT_GET"
        | "REST.POST.UPLOADS"
        | "REST.PUT.PART"
        | "REST.COPY.PART"
        | "REST.POST.UPLOAD" => ("s3:PutObject", Object),
        "REST.DELETE.OBJECT" | "REST.POST.MULTI_OBJECT_DELETE" => ("s3:DeleteObject", Object),
        "REST.DELETE.UPLOAD" => ("s3:AbortMultipartUpload", Object),
        "REST.GET.UPLOAD" => ("s3:ListMultipartUploadParts", Object),
        "REST.GET.OBJECT_TAGGING" => ("s3:GetObjectTagging", Object),
        "REST.PUT.OBJECT_TAGGING" => ("s3:PutObjectTagging", Object),
        "REST.POST.RESTORE" => ("s3:RestoreObject", Object),
        "REST.GET.ACL" if has_key => ("s3:GetObjectAcl", Object),
        "REST.PUT.ACL" if has_key => ("s3:PutObjectAcl", Object),
        "REST.GET.ACL" => ("s3:GetBucketAcl", Bucket),
        "REST.PUT.ACL" => ("s3:PutBucketAcl", Bucket),
        "REST.GET.BUCKET" | "REST.HEAD.BUCKET" => ("s3:ListBucket", Bucket),
        "REST.GET.BUCKETVERSIONS" => ("s3:ListBucketVersions", Bucket),
        "REST.GET.UPLOADS" => ("s3:ListBucketMultipartUploads", Bucket),
        "REST.GET.LOCATION" => ("s3:GetBucketLocation", Bucket),
        "REST.GET.BUCKETPOLICY" => ("s3:GetBucketPolicy", Bucket),
        "REST.PUT.BUCKETPOLICY" => ("s3:PutBucketPolicy", Bucket),
        "REST.DELETE.BUCKETPOLICY" => ("s3:DeleteBucketPolicy", Bucket),
        _ => return cloudtrail_action(operation),
    })
}

/// The IAM action of a CloudTrail S3 event name.
fn cloudtrail_action(event: &str) -> Option<(&'static str, Level)> {
    use Level::{Bucket, Object};
    Some(match event {
        "GetObject" | "HeadObject" | "GetObjectAttributes" | "SelectObjectContent" => {
            ("s3:GetObject", Object)
        }
        "PutObject"
        | "CopyObject"
        | "CreateMultipartUpload"
        | "UploadPart"
        | "UploadPartCopy"
        | "CompleteMultipartUpload" => ("s3:PutObject", Object),
        "DeleteObject" | "DeleteObjects" => ("s3:DeleteObject", Object),
        "AbortMultipartUpload" => ("s3:AbortMultipartUpload", Object),
        "ListParts" => ("s3:ListMultipartUploadParts", Object),
        "GetObjectTagging" => ("s3:GetObjectTagging", Object),
        "PutObjectTagging" => ("s3:PutObjectTagging", Object),
        "RestoreObject" => ("s3:RestoreObject", Object),
        "GetObjectAcl" => ("s3:GetObjectAcl", Object),
        "PutObjectAcl" => ("s3:PutObjectAcl", Object),
        "GetBucketAcl" => ("s3:GetBucketAcl", Bucket),
        "PutBucketAcl" => ("s3:PutBucketAcl", Bucket),
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => ("s3:ListBucket", Bucket),
        "ListObjectVersions" => ("s3:ListBucketVersions", Bucket),
        "ListMultipartUploads" => ("s3:ListBucketMultipartUploads", Bucket),
        "GetBucketLocation" => ("s3:GetBucketLocation", Bucket),
        "GetBucketPolicy" => ("s3:GetBucketPolicy", Bucket),
        "PutBucketPolicy" => ("s3:PutBucketPolicy", Bucket),
        "DeleteBucketPolicy" => ("s3:DeleteBucketPolicy", Bucket),
        _ => return None,
    })
}

fn guess_level(action: &str) -> Level {
    let a = action.to_ascii_lowercase();
    if a.contains("bucket") || a == "s3:listallmybuckets" {
        Level::Bucket
    } else {
        Level::Object
    }
}

/// A policy principal against a logged requester ARN: `*`, an account (id or
/// `arn:...:root`), the exact ARN, or an IAM role matched by its assumed-role sessions.
fn principal_is(principal: &str, requester: &str) -> bool {
    if principal == "*" || wildcard::matches(principal, requester) {
        return true;
    }
    let account = account_of(requester);
    if principal == account {
        return true;
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    let [_, _, "iam", _, id, resource] = parts[..] else {
        return false;
    };
    if id != account {
        return false;
    }
    if resource == "root" {
        return true;
    }
    // arn:aws:iam::A:role/path/NAME assumes as arn:aws:sts::A:assumed-role/NAME/session.
    let (Some(role), Some(session_role)) = (
        resource
            .strip_prefix("role/")
            .and_then(|r| r.rsplit('/').next()),
        requester
            .split(':')
            .nth(5)
            .and_then(|r| r.strip_prefix("assumed-role/"))
            .and_then(|r| r.split('/').next()),
    ) else {
        return false;
    };
    role == session_role
}

fn strings(v: &Value, what: &str, name: &str) -> Result<Vec<String>, PolicyError> {
    let one = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(shape(format!(
            "statement {name}: {what} must be a string or a list of strings"
        ))),
    };
    match v {
        Value::Array(list) => list.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}

fn either(
    obj: &serde_json::Map<String, Value>,
    yes: &str,
    not: &str,
    name: &str,
    required: bool,
) -> Result<Set, PolicyError> {
    match (obj.get(yes), obj.get(not)) {
        (Some(_), Some(_)) => Err(shape(format!(
            "statement {name}: has both \"{yes}\" and \"{not}\""
        ))),
        (Some(v), None) => Ok(Set::Only(strings(v, yes, name)?)),
        (None, Some(v)) => Ok(Set::AllExcept(strings(v, not, name)?)),
        (None, None) if required => Err(shape(format!(
            "statement {name}: needs \"{yes}\" or \"{not}\""
        ))),
        (None, None) => Ok(Set::Only(vec!["*".into()])),
    }
}

fn principals(v: &Value, what: &str, name: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::Object(map) => {
            let mut all = Vec::new();
            for (kind, list) in map {
                all.extend(strings(list, &format!("{what}.{kind}"), name)?);
            }
            Ok(all)
        }
        v => strings(v, what, name),
    }
}

fn statement(v: &Value, index: usize, gaps: &mut Vec<Gap>) -> Result<Statement, PolicyError> {
    let obj = v
        .as_object()
        .ok_or_else(|| shape(format!("statement #{index} is not an object")))?;
    let name = match obj.get("Sid") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => format!("#{index}"),
    };
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => {
            return Err(shape(format!(
                "statement {name}: \"Effect\" must be \"Allow\" or \"Deny\""
            )))
        }
    };
    let principal = match (obj.get("Principal"), obj.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(shape(format!(
                "statement {name}: has both \"Principal\" and \"NotPrincipal\""
            )))
        }
        (Some(p), None) => Set::Only(principals(p, "Principal", &name)?),
        (None, Some(p)) => Set::AllExcept(principals(p, "NotPrincipal", &name)?),
        (None, None) => {
            return Err(shape(format!(
            "statement {name}: a bucket policy statement needs \"Principal\" or \"NotPrincipal\""
        )))
        }
    };
    let action = either(obj, "Action", "NotAction", &name, true)?;
    let resource = either(obj, "Resource", "NotResource", &name, false)?;
    let mut conditions = Vec::new();
    match obj.get("Condition") {
        None => {}
        Some(Value::Object(ops)) => {
            for (operator, keys) in ops {
                let keys = keys.as_object().ok_or_else(|| {
                    shape(format!(
                        "statement {name}: condition {operator} must map keys to values"
                    ))
                })?;
                for (key, values) in keys {
                    conditions.push(Condition {
                        operator: operator.clone(),
                        key: key.clone(),
                        values: strings(values, &format!("condition {operator} {key}"), &name)?,
                    });
                }
            }
        }
        Some(_) => {
            return Err(shape(format!(
                "statement {name}: \"Condition\" must be an object"
            )))
        }
    }
    let mut s = Statement {
        name,
        effect,
        principal,
        action,
        resource,
        conditions,
        network: None,
        extra: Vec::new(),
    };
    judge_conditions(&mut s, gaps);
    Ok(s)
}

const NETWORK_KEYS: [&str; 3] = ["aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip"];

/// Sorts a statement's conditions into network conditions (sound or not) and
/// extra ones; records what a sound denying statement lets through.
fn judge_conditions(s: &mut Statement, gaps: &mut Vec<Gap>) {
    let mut network = Network::default();
    let mut sound = true;
    let mut any_network = false;
    let mut gap = |kind, message: String| {
        gaps.push(Gap {
            kind,
            statement: s.name.clone(),
            actions: Vec::new(),
            message,
        })
    };
    for c in &s.conditions {
        let key = c.key.to_ascii_lowercase();
        let op_full = c.operator.to_ascii_lowercase();
        let (set_op, op) = match op_full.split_once(':') {
            Some((prefix, rest)) => (Some(prefix.to_string()), rest.to_string()),
            None => (None, op_full.clone()),
        };
        let op = op.strip_suffix("ifexists").unwrap_or(&op).to_string();
        let what = format!("{} {}", c.operator, c.key);
        if !NETWORK_KEYS.contains(&key.as_str()) {
            if key == "aws:sourceip" {
                gap(GapKind::WrongKey, format!(
                    "{what}: aws:SourceIp is never set for requests through a VPC endpoint; it cannot tell endpoint traffic from internet traffic (use aws:SourceVpce, aws:SourceVpc or aws:VpcSourceIp)"
                ));
                any_network = true;
                sound = false;
            } else if key.contains("vpc") {
                gap(GapKind::WrongKey, format!(
                    "{what}: {} is not a condition key AWS sets; IAM treats it as absent, so the condition never tells endpoints apart (did you mean aws:SourceVpce, aws:SourceVpc or aws:VpcSourceIp?)",
                    c.key
                ));
                any_network = true;
                sound = false;
            } else {
                s.extra.push(format!("{what} {}", c.values.join(",")));
            }
            continue;
        }
        any_network = true;
        if s.effect == Effect::Allow {
            continue;
        }
        if set_op.as_deref() == Some("foranyvalue") {
            gap(GapKind::WrongOperator, format!(
                "{what}: ForAnyValue is false when the key is absent, so requests from the internet (which carry no {}) are not denied",
                c.key
            ));
            sound = false;
            continue;
        }
        let values: BTreeSet<String> = c.values.iter().cloned().collect();
        let restrict = |slot: &mut Option<BTreeSet<String>>| {
            *slot = Some(match slot.take() {
                Some(prev) => prev.union(&values).cloned().collect(),
                None => values.clone(),
            })
        };
        match (key.as_str(), op.as_str()) {
            (
                "aws:sourcevpce",
                "stringnotequals" | "stringnotlike" | "stringnotequalsignorecase",
            ) => restrict(&mut network.vpce),
            (
                "aws:sourcevpc",
                "stringnotequals" | "stringnotlike" | "stringnotequalsignorecase",
            ) => restrict(&mut network.vpc),
            ("aws:vpcsourceip", "notipaddress") => restrict(&mut network.vpc_source_ip),
            ("aws:sourcevpce" | "aws:sourcevpc", "null")
                if c.values.iter().all(|v| v.eq_ignore_ascii_case("true")) =>
            {
                network.any_endpoint = true
            }
            ("aws:vpcsourceip", "null")
                if c.values.iter().all(|v| v.eq_ignore_ascii_case("true")) =>
            {
                network.any_endpoint = true
            }
            _ => {
                gap(GapKind::WrongOperator, format!(
                    "{what}: in a Deny this operator denies requests that match the listed values (the endpoint's own), not requests from elsewhere; use StringNotEquals (NotIpAddress for aws:VpcSourceIp)"
                ));
                sound = false;
            }
        }
    }
    if s.effect == Effect::Deny && any_network && sound {
        s.network = Some(network);
    }
}

fn covers_action(set: &Set, action: &str) -> bool {
    match set {
        Set::Only(list) => list
            .iter()
            .any(|p| wildcard::matches_ignore_case(p, action)),
        Set::AllExcept(list) => !list
            .iter()
            .any(|p| wildcard::matches_ignore_case(p, action)),
    }
}

/// How much of the bucket (`level`) a resource set covers: all, some, or nothing.
fn resource_coverage(set: &Set, bucket: Option<&str>, level: Level) -> Enforcement {
    let Some(b) = bucket else {
        return Enforcement::Enforced;
    };
    let arn = format!("arn:aws:s3:::{b}");
    let objects = format!("{arn}/");
    match (set, level) {
        (Set::Only(list), Level::Bucket) => {
            if list.iter().any(|p| wildcard::matches(p, &arn)) {
                Enforcement::Enforced
            } else {
                Enforcement::NotEnforced
            }
        }
        (Set::Only(list), Level::Object) => {
            if list.iter().any(|p| wildcard::covers_prefix(p, &objects)) {
                Enforcement::Enforced
            } else if list.iter().any(|p| touches(p, &objects)) {
                Enforcement::Partial
            } else {
                Enforcement::NotEnforced
            }
        }
        (Set::AllExcept(list), Level::Bucket) => {
            if list.iter().any(|p| wildcard::matches(p, &arn)) {
                Enforcement::NotEnforced
            } else {
                Enforcement::Enforced
            }
        }
        (Set::AllExcept(list), Level::Object) => {
            if list.iter().any(|p| wildcard::covers_prefix(p, &objects)) {
                Enforcement::NotEnforced
            } else if list.iter().any(|p| touches(p, &objects)) {
                Enforcement::Partial
            } else {
                Enforcement::Enforced
            }
        }
    }
}

/// Could `pattern` match some text starting with `prefix`? Compares the literal
/// head of the pattern (up to its first wildcard) with the prefix.
fn touches(pattern: &str, prefix: &str) -> bool {
    let head = &pattern[..pattern.find(['*', '?']).unwrap_or(pattern.len())];
    if head.len() == pattern.len() {
        return pattern.starts_with(prefix);
    }
    head.starts_with(prefix) || prefix.starts_with(head)
}

fn infer_bucket(statements: &[Statement]) -> Option<String> {
    statements.iter().find_map(|s| match &s.resource {
        Set::Only(list) | Set::AllExcept(list) => list.iter().find_map(|r| {
            let rest = r.strip_prefix("arn:aws:s3:::").or_else(|| {
                r.strip_prefix("arn:")
                    .and_then(|x| x.split_once(":s3:::"))
                    .map(|(_, rest)| rest)
            })?;
            let name = rest.split('/').next()?;
            (!name.is_empty() && !wildcard::is_pattern(name)).then(|| name.to_string())
        }),
    })
}

/// How a denying statement narrows its denial of `action` on `bucket`: `None` if it
/// does not deny it there at all, otherwise the reasons it denies it only in part
/// (empty: it denies it for everyone on the whole bucket, unconditionally).
fn narrowing(
    s: &Statement,
    action: &str,
    level: Level,
    bucket: Option<&str>,
) -> Option<Vec<String>> {
    if !covers_action(&s.action, action) {
        return None;
    }
    let resources = resource_coverage(&s.resource, bucket, level);
    if resources == Enforcement::NotEnforced {
        return None;
    }
    let mut why = Vec::new();
    if resources == Enforcement::Partial {
        why.push("only part of the bucket's objects are in its Resource".to_string());
    }
    match &s.principal {
        Set::Only(list) if !list.iter().any(|p| p == "*") => {
            why.push(format!("it applies only to {}", list.join(", ")))
        }
        Set::AllExcept(list) => why.push(format!("NotPrincipal exempts {}", list.join(", "))),
        Set::Only(_) => {}
    }
    if !s.extra.is_empty() {
        why.push(format!(
            "it applies only when also {}",
            s.extra.join(" and ")
        ));
    }
    Some(why)
}

/// What every statement that denies an action lets through: a request must satisfy
/// all of them, so each list is the intersection of theirs.
struct Allowed {
    endpoints: Vec<String>,
    vpcs: Vec<String>,
    vpc_source_ips: Vec<String>,
}

impl Allowed {
    fn of(used: &[(&Statement, &Network)]) -> Allowed {
        let intersect = |pick: fn(&Network) -> &Option<BTreeSet<String>>| -> Vec<String> {
            let mut acc: Option<BTreeSet<String>> = None;
            for (_, n) in used {
                if let Some(set) = pick(n) {
                    acc = Some(match acc {
                        Some(a) => a.intersection(set).cloned().collect(),
                        None => set.clone(),
                    });
                }
            }
            acc.unwrap_or_default().into_iter().collect()
        };
        Allowed {
            endpoints: intersect(|n| &n.vpce),
            vpcs: intersect(|n| &n.vpc),
            vpc_source_ips: intersect(|n| &n.vpc_source_ip),
        }
    }

    /// The gap when several statements each allow endpoints (or VPCs) and no one
    /// endpoint is allowed by all of them.
    fn no_endpoint_left(&self, used: &[(&Statement, &Network)], action: &str) -> Option<Gap> {
        let constrained = |pick: fn(&Network) -> &Option<BTreeSet<String>>| {
            used.iter().filter(|(_, n)| pick(n).is_some()).count()
        };
        let none_left = (constrained(|n| &n.vpce) > 1 && self.endpoints.is_empty())
            || (constrained(|n| &n.vpc) > 1 && self.vpcs.is_empty());
        none_left.then(|| Gap {
            kind: GapKind::NoEndpointLeft,
            statement: used
                .iter()
                .map(|(s, _)| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            actions: vec![action.to_string()],
            message:
                "the denying statements allow different endpoints, so no endpoint can perform it"
                    .to_string(),
        })
    }
}

/// The verdict on one action, with the gaps it adds.
fn action_report(
    statements: &[Statement],
    action: &str,
    level: Level,
    bucket: Option<&str>,
    gaps: &mut Vec<Gap>,
) -> ActionReport {
    let mut full = Vec::new();
    let mut partial = Vec::new();
    let mut reasons = Vec::new();
    for s in statements {
        let Some(network) = &s.network else { continue };
        match narrowing(s, action, level, bucket) {
            None => {}
            Some(why) if why.is_empty() => full.push((s, network)),
            Some(why) => {
                reasons.push(format!("statement {}: {}", s.name, why.join("; ")));
                partial.push((s, network));
            }
        }
    }
    let (status, used) = if !full.is_empty() {
        (Enforcement::Enforced, &full)
    } else if !partial.is_empty() {
        (Enforcement::Partial, &partial)
    } else {
        (Enforcement::NotEnforced, &full)
    };
    let allowed = Allowed::of(used);
    if let Some(gap) = allowed.no_endpoint_left(used, action) {
        gaps.push(gap);
    }
    match status {
        Enforcement::Enforced => {}
        Enforcement::Partial => gaps.push(Gap {
            kind: GapKind::ActionPartial,
            statement: partial
                .iter()
                .map(|(s, _)| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            actions: vec![action.to_string()],
            message: format!(
                "denied outside the endpoint only in part: {}",
                reasons.join("; ")
            ),
        }),
        Enforcement::NotEnforced => gaps.push(Gap {
            kind: GapKind::ActionNotCovered,
            statement: String::new(),
            actions: vec![action.to_string()],
            message: "not denied for requests from outside the VPC endpoint".to_string(),
        }),
    }
    ActionReport {
        action: action.to_string(),
        level,
        status,
        endpoints: allowed.endpoints,
        vpcs: allowed.vpcs,
        vpc_source_ips: allowed.vpc_source_ips,
        any_endpoint: used.iter().any(|(_, n)| n.any_endpoint),
        statements: used.iter().map(|(s, _)| s.name.clone()).collect(),
    }
}

/// An `Allow` conditioned on the endpoint grants access from it but denies nothing:
/// an identity policy or another statement still allows the internet.
fn allow_only_gaps(statements: &[Statement], actions: &[ActionReport], gaps: &mut Vec<Gap>) {
    for s in statements {
        if s.effect != Effect::Allow {
            continue;
        }
        let mentions_network = s
            .conditions
            .iter()
            .any(|c| NETWORK_KEYS.contains(&c.key.to_ascii_lowercase().as_str()));
        if !mentions_network {
            continue;
        }
        let open: Vec<&str> = actions
            .iter()
            .filter(|a| a.status != Enforcement::Enforced && covers_action(&s.action, &a.action))
            .map(|a| a.action.as_str())
            .collect();
        if !open.is_empty() {
            gaps.push(Gap {
                kind: GapKind::AllowOnly,
                statement: s.name.clone(),
                actions: open.iter().map(|a| a.to_string()).collect(),
                message: "an Allow with a VPC endpoint condition only grants access; it denies nothing from the internet to principals that another policy allows (add a Deny with StringNotEquals aws:SourceVpce)".to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(a: &Analysis, action: &str) -> Enforcement {
        a.actions
            .iter()
            .find(|r| r.action == action)
            .unwrap()
            .status
    }

    #[test]
    fn a_deny_on_s3_star_enforces_every_action() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"stringnotequalsifexists": {"AWS:SOURCEVPCE": ["vpce-1", "vpce-2"]}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(a.bucket.as_deref(), Some("b"));
        assert_eq!(a.status, Enforcement::Enforced, "{:?}", a.gaps);
        assert!(a.gaps.is_empty());
        let get = a
            .actions
            .iter()
            .find(|r| r.action == "s3:GetObject")
            .unwrap();
        assert_eq!(get.endpoints, ["vpce-1", "vpce-2"]);
        let claim = a.claim(
            "b",
            Some("k"),
            "REST.PUT.OBJECT",
            Some("arn:aws:iam::1:user/x"),
        );
        assert_eq!(claim.unwrap().action, "s3:PutObject");
        assert!(a
            .claim("other", Some("k"), "REST.PUT.OBJECT", None)
            .is_none());
        assert!(a.claim("b", Some("k"), "REST.UNKNOWN", None).is_none());
    }

    #[test]
    fn object_only_resources_leave_bucket_actions_open() {
        let a = analyze(
            r#"{"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:Get*",
                "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}}]}"#,
            None,
        )
        .unwrap();
        assert_eq!(status(&a, "s3:GetObject"), Enforcement::Enforced);
        assert_eq!(status(&a, "s3:GetBucketPolicy"), Enforcement::NotEnforced);
        assert_eq!(status(&a, "s3:PutObject"), Enforcement::NotEnforced);
        assert_eq!(a.status, Enforcement::Partial);
    }

    #[test]
    fn not_principal_and_extra_conditions_are_partial() {
        let a = analyze(
            r#"{"Statement": [{"Sid": "S", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::1:role/admin"},
                "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}, "Bool": {"aws:ViaAWSService": "false"}}}]}"#,
            None,
        )
        .unwrap();
        assert_eq!(status(&a, "s3:GetObject"), Enforcement::Partial);
        let msg = &a
            .gaps
            .iter()
            .find(|g| g.kind == GapKind::ActionPartial)
            .unwrap()
            .message;
        assert!(
            msg.contains("NotPrincipal exempts arn:aws:iam::1:role/admin"),
            "{msg}"
        );
        assert!(msg.contains("aws:ViaAWSService"), "{msg}");
        // Extra conditions cannot be judged from a log line: no claim.
        assert!(a.claim("b", Some("k"), "REST.GET.OBJECT", None).is_none());
    }

    #[test]
    fn not_action_leaves_the_named_actions_open() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "NotAction": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(status(&a, "s3:GetObject"), Enforcement::NotEnforced);
        assert_eq!(status(&a, "s3:PutObject"), Enforcement::Enforced);
    }

    #[test]
    fn wrong_keys_and_operators_are_gaps() {
        let a = analyze(
            r#"{"Statement": [
                {"Sid": "K", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:SourceVpcEndpoint": "vpce-1"}}},
                {"Sid": "O", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}},
                {"Sid": "F", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"ForAnyValue:StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
                {"Sid": "I", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}"#,
            Some("b"),
        )
        .unwrap();
        let kinds: Vec<_> = a
            .gaps
            .iter()
            .filter(|g| g.actions.is_empty())
            .map(|g| (g.kind, g.statement.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (GapKind::WrongKey, "K"),
                (GapKind::WrongOperator, "O"),
                (GapKind::WrongOperator, "F"),
                (GapKind::WrongKey, "I")
            ]
        );
        assert_eq!(a.status, Enforcement::NotEnforced);
    }

    #[test]
    fn allow_with_source_vpce_denies_nothing() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
                "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*",
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        assert!(a
            .gaps
            .iter()
            .any(|g| g.kind == GapKind::AllowOnly && g.actions == ["s3:GetObject"]));
        assert_eq!(a.status, Enforcement::NotEnforced);
    }

    #[test]
    fn disjoint_endpoints_leave_none() {
        let a = analyze(
            r#"{"Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                 "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
                {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                 "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-2"}}}]}"#,
            None,
        )
        .unwrap();
        let get = a
            .actions
            .iter()
            .find(|r| r.action == "s3:GetObject")
            .unwrap();
        assert!(get.endpoints.is_empty());
        assert_eq!(get.statements, ["#1", "#2"]);
        assert!(a.gaps.iter().any(|g| g.kind == GapKind::NoEndpointLeft));
    }

    #[test]
    fn the_get_bucket_policy_wrapper_is_unwrapped() {
        let inner = r#"{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-9"}}}}"#;
        let wrapped = serde_json::json!({ "Policy": inner }).to_string();
        assert_eq!(
            analyze(&wrapped, None).unwrap().status,
            Enforcement::Enforced
        );
    }

    #[test]
    fn malformed_policies_are_errors() {
        for bad in [
            "not json",
            "[]",
            "{}",
            r#"{"Statement": 5}"#,
            r#"{"Statement": {"Effect": "Maybe", "Principal": "*", "Action": "s3:*"}}"#,
            r#"{"Statement": {"Effect": "Deny", "Principal": "*"}}"#,
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "NotAction": "s3:Get*"}}"#,
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": {"x": 1}}}"#,
        ] {
            assert!(analyze(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn principals_match_assumed_role_sessions() {
        let who = "arn:aws:sts::111122223333:assumed-role/reader/i-0abc";
        assert!(principal_is("arn:aws:iam::111122223333:role/reader", who));
        assert!(principal_is(
            "arn:aws:iam::111122223333:role/path/reader",
            who
        ));
        assert!(principal_is("arn:aws:iam::111122223333:root", who));
        assert!(principal_is("111122223333", who));
        assert!(!principal_is("arn:aws:iam::111122223333:role/writer", who));
        assert!(!principal_is("arn:aws:iam::999988887777:root", who));
    }
}
