//! Bucket policy analysis: does the policy deny requests that do not come through an
//! allowed VPC endpoint, for which actions, and where are the gaps?
//!
//! The working pattern (the first verification method of the blog post that started
//! this project) is a `Deny` for everyone with `StringNotEquals` (or `...IfExists`,
//! `StringNotLike`) on one of the endpoint keys ([`ENDPOINT_KEYS`]: `aws:SourceVpce`,
//! `aws:SourceVpc`, `aws:SourceVpcArn`, `aws:VpceAccount`, `aws:VpceOrgID`,
//! `aws:VpceOrgPaths`), or `NotIpAddress` on `aws:VpcSourceIp`: a request from the
//! internet has no such key, the negated operator is then true, and the request gets
//! HTTP 403. Values that any endpoint matches (`*`, `vpce-*`) or no values at all
//! enforce nothing worth the name: any endpoint, in any account, passes. [`analyze`] takes the policy JSON as text (a file, or
//! what `GetBucketPolicy` returns) and reports per S3 action whether that denial
//! covers it, which endpoints, VPCs or addresses are allowed, and every gap found:
//! actions left out, `NotAction`/`NotPrincipal`/`NotResource` holes, principals or
//! resources that narrow the denial, extra conditions, inverted operators, condition
//! keys that do not exist, values any endpoint matches, and `Allow` statements with
//! `aws:SourceVpce` that deny nothing. [`Analysis::claim`] answers, for one logged
//! request, whether the policy says it should have been denied: the
//! `check --bucket-policy` cross-check.
//!
//! A statement applies to the buckets its `Resource` patterns match (`*` matches every
//! bucket), and each bucket is judged on the statements that apply to it: the report
//! is about one bucket ([`Analysis::bucket`]), with the verdict of every other bucket
//! the policy names ([`Analysis::buckets`]). The analysis takes time linear in the size
//! of the policy: a fixed set of actions (plus at most [`MAX_NAMED_ACTIONS`] the policy
//! names) against each statement, and at most [`MAX_BUCKETS`] buckets judged.
//!
//! Element names (`Statement`, `Effect`, ...) are matched as AWS writes them; action
//! names, condition operators and condition keys ignore case, as IAM does.

use std::collections::{BTreeSet, HashMap, HashSet};

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

/// How many actions the policy names beyond [`ACTIONS`] are reported one by one.
pub const MAX_NAMED_ACTIONS: usize = 64;
/// How many buckets named in the policy get a verdict of their own.
pub const MAX_BUCKETS: usize = 100;

/// The condition keys that identify the VPC endpoint a request came through, lower
/// case, each with a value no real one is like, for telling a catch-all pattern.
pub const ENDPOINT_KEYS: [(&str, [&str; 2]); 7] = [
    (
        "aws:sourcevpce",
        ["vpce-0123456789abcdef0", "vpce-fedcba9876543210f"],
    ),
    (
        "aws:sourcevpc",
        ["vpc-0123456789abcdef0", "vpc-fedcba9876543210f"],
    ),
    (
        "aws:sourcevpcarn",
        [
            "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0123456789abcdef0",
            "arn:aws-cn:ec2:cn-north-1:999988887777:vpc/vpc-fedcba9876543210f",
        ],
    ),
    ("aws:vpceaccount", ["111122223333", "999988887777"]),
    ("aws:vpceorgid", ["o-a1b2c3d4e5", "o-zz9yy8xx7w"]),
    (
        "aws:vpceorgpaths",
        [
            "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
            "o-zz9yy8xx7w/r-zz99/ou-zz99-99999999/ou-zz99-88888888/",
        ],
    ),
    ("aws:vpcsourceip", ["10.1.2.3", "192.168.200.7"]),
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
    /// The bucket the report is about: the one given, else the first the policy names
    /// in a `Resource`; `null` when it names none (only wildcards: the report then
    /// holds for any bucket they match).
    pub bucket: Option<String>,
    /// `enforced` if every reported action is, `not-enforced` if none is even in
    /// part, `partial` otherwise.
    pub status: Enforcement,
    /// Number of statements.
    pub statements: usize,
    /// Every bucket the policy names (the given one only, when one is given), each
    /// judged on its own statements (the first [`MAX_BUCKETS`]).
    pub buckets: Vec<BucketVerdict>,
    /// One entry per reported action.
    pub actions: Vec<ActionReport>,
    /// Actions the policy names that are not reported one by one (past
    /// [`MAX_NAMED_ACTIONS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted_actions: Vec<String>,
    /// Everything that lets a request from outside the endpoint through; empty
    /// when the policy is enforced.
    pub gaps: Vec<Gap>,
    /// Is the bucket known (given)? Then the policy applies to it alone.
    #[serde(skip)]
    given: bool,
    /// The `Resource` patterns that name a bucket or a pattern of buckets (not every
    /// bucket): the buckets the policy is about.
    #[serde(skip)]
    scope: Vec<String>,
    #[serde(skip)]
    parsed: Vec<Statement>,
    #[serde(skip)]
    document: Value,
}

/// One bucket's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct BucketVerdict {
    pub bucket: String,
    /// As [`Analysis::status`], judged on the statements whose `Resource` matches it.
    pub status: Enforcement,
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
    /// VPC ARNs (`aws:SourceVpcArn`) allowed, likewise.
    pub vpc_arns: Vec<String>,
    /// Accounts that own the allowed endpoints (`aws:VpceAccount`), likewise.
    pub vpce_accounts: Vec<String>,
    /// Organizations that own the allowed endpoints (`aws:VpceOrgID`), likewise.
    pub vpce_orgs: Vec<String>,
    /// Organization paths of the allowed endpoints (`aws:VpceOrgPaths`), likewise.
    pub vpce_org_paths: Vec<String>,
    /// Private ranges (`aws:VpcSourceIp`) allowed, likewise.
    pub vpc_source_ips: Vec<String>,
    /// The statements (Sid, or `#N` by position) that deny it.
    pub statements: Vec<String>,
}

/// A kind of gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
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
    /// A condition that any VPC endpoint, in any account, satisfies: a wildcard value
    /// (`*`, `vpce-*`), or `Null` (the key merely present).
    AnyEndpoint,
    /// A condition with no values.
    EmptyValues,
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
            GapKind::AnyEndpoint => "any-endpoint",
            GapKind::EmptyValues => "empty-values",
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
    /// Not JSON at all (said once: the JSON error is not also a source).
    #[error("not JSON: {0}")]
    Json(serde_json::Error),
    /// JSON, but not a policy.
    #[error("{0}")]
    Shape(String),
}

impl From<serde_json::Error> for PolicyError {
    fn from(e: serde_json::Error) -> Self {
        PolicyError::Json(e)
    }
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

/// The network a denying statement lets through: per endpoint key, the values
/// allowed (`None`: the statement does not restrict that key).
#[derive(Clone, Debug, Default)]
struct Network {
    vpce: Option<BTreeSet<String>>,
    vpc: Option<BTreeSet<String>>,
    vpc_arn: Option<BTreeSet<String>>,
    vpce_account: Option<BTreeSet<String>>,
    vpce_org: Option<BTreeSet<String>>,
    vpce_org_path: Option<BTreeSet<String>>,
    vpc_source_ip: Option<BTreeSet<String>>,
}

impl Network {
    /// The allowed values of endpoint key `key` (lower case).
    fn slot(&mut self, key: &str) -> Option<&mut Option<BTreeSet<String>>> {
        Some(match key {
            "aws:sourcevpce" => &mut self.vpce,
            "aws:sourcevpc" => &mut self.vpc,
            "aws:sourcevpcarn" => &mut self.vpc_arn,
            "aws:vpceaccount" => &mut self.vpce_account,
            "aws:vpceorgid" => &mut self.vpce_org,
            "aws:vpceorgpaths" => &mut self.vpce_org_path,
            "aws:vpcsourceip" => &mut self.vpc_source_ip,
            _ => return None,
        })
    }
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
    let named = named_buckets(&parsed);
    let given = bucket.is_some();
    let bucket = bucket
        .map(str::to_string)
        .or_else(|| named.first().cloned());
    let (names, unlisted_actions) = reported_actions(&parsed);
    let index = Index::of(&parsed);
    let report = judge_bucket(
        &index.relevant(&parsed, bucket.as_deref()),
        &names,
        bucket.as_deref(),
    );
    gaps.extend(report.gaps);
    let mut buckets = Vec::new();
    let others: Vec<&String> = if given {
        Vec::new()
    } else {
        named.iter().skip(1).collect()
    };
    if let Some(b) = &bucket {
        buckets.push(BucketVerdict {
            bucket: b.clone(),
            status: report.status,
        });
    }
    for b in others.into_iter().take(MAX_BUCKETS.saturating_sub(1)) {
        buckets.push(BucketVerdict {
            bucket: b.clone(),
            status: judge_bucket(&index.relevant(&parsed, Some(b)), &names, Some(b)).status,
        });
    }
    Ok(Analysis {
        bucket,
        status: report.status,
        statements: parsed.len(),
        buckets,
        actions: report.actions,
        unlisted_actions,
        gaps,
        given,
        scope: scope(&parsed),
        parsed,
        document: doc,
    })
}

/// The `Resource` patterns of `statements` whose bucket is named, or a pattern
/// narrower than every bucket.
fn scope(statements: &[Statement]) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements {
        let Set::Only(list) = &s.resource else {
            continue;
        };
        for r in list {
            let bucket = r
                .strip_prefix("arn:")
                .and_then(|x| x.split_once(":s3:::"))
                .map(|(_, rest)| rest.split('/').next().unwrap_or_default());
            if bucket.is_some_and(|b| !wildcard::covers_prefix(b, "")) {
                out.push(r.clone());
            }
        }
    }
    out
}

/// Which statements can apply to which bucket: those naming it in a `Resource`, and
/// those whose `Resource` is a pattern (or a `NotResource`), which may match any.
struct Index {
    by_bucket: HashMap<String, Vec<usize>>,
    open: Vec<usize>,
}

impl Index {
    fn of(statements: &[Statement]) -> Index {
        let mut index = Index {
            by_bucket: HashMap::new(),
            open: Vec::new(),
        };
        for (i, s) in statements.iter().enumerate() {
            let Set::Only(list) = &s.resource else {
                index.open.push(i);
                continue;
            };
            let mut named = HashSet::new();
            let mut open = false;
            for r in list {
                match literal_bucket(r) {
                    Some(b) => {
                        named.insert(b);
                    }
                    None => open = true,
                }
            }
            if open {
                index.open.push(i);
            } else {
                for b in named {
                    index.by_bucket.entry(b.to_string()).or_default().push(i);
                }
            }
        }
        index
    }

    /// The statements that can apply to `bucket` (all of them for `None`), in order.
    fn relevant<'a>(
        &self,
        statements: &'a [Statement],
        bucket: Option<&str>,
    ) -> Vec<&'a Statement> {
        let Some(b) = bucket else {
            return statements.iter().collect();
        };
        let mut ids: Vec<usize> = self
            .by_bucket
            .get(b)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .chain(&self.open)
            .copied()
            .collect();
        ids.sort_unstable();
        ids.into_iter().map(|i| &statements[i]).collect()
    }
}

/// The bucket an S3 `Resource` names literally (`arn:aws:s3:::b` or `arn:aws:s3:::b/…`),
/// `None` for a pattern of buckets or anything else.
fn literal_bucket(resource: &str) -> Option<&str> {
    let rest = resource
        .strip_prefix("arn:")
        .and_then(|x| x.split_once(":s3:::"))
        .map(|(_, rest)| rest)?;
    let name = rest.split('/').next()?;
    (!name.is_empty() && !wildcard::is_pattern(name)).then_some(name)
}

/// The verdict on one bucket (or, with `None`, on any bucket the statements match).
struct BucketReport {
    status: Enforcement,
    actions: Vec<ActionReport>,
    gaps: Vec<Gap>,
}

/// Judges every reported action on `bucket`, with one gap per reason (listing every
/// action it concerns).
fn judge_bucket(
    parsed: &[&Statement],
    names: &[(String, Level)],
    bucket: Option<&str>,
) -> BucketReport {
    let mut action_gaps = Vec::new();
    let actions: Vec<ActionReport> = names
        .iter()
        .map(|(action, level)| action_report(parsed, action, *level, bucket, &mut action_gaps))
        .collect();
    let mut gaps: Vec<Gap> = Vec::new();
    let mut same: HashMap<(GapKind, String, String), usize> = HashMap::new();
    for g in action_gaps {
        match same.get(&(g.kind, g.statement.clone(), g.message.clone())) {
            Some(&i) => gaps[i].actions.extend(g.actions),
            None => {
                same.insert((g.kind, g.statement.clone(), g.message.clone()), gaps.len());
                gaps.push(g);
            }
        }
    }
    allow_only_gaps(parsed, &actions, &mut gaps);
    let status = if actions.iter().all(|a| a.status == Enforcement::Enforced) {
        Enforcement::Enforced
    } else if actions.iter().all(|a| a.status == Enforcement::NotEnforced) {
        Enforcement::NotEnforced
    } else {
        Enforcement::Partial
    };
    BucketReport {
        status,
        actions,
        gaps,
    }
}

/// The actions reported: [`ACTIONS`], then the first [`MAX_NAMED_ACTIONS`] other S3
/// actions the policy names (no wildcards); and the names of the rest.
fn reported_actions(parsed: &[Statement]) -> (Vec<(String, Level)>, Vec<String>) {
    let mut names: Vec<(String, Level)> =
        ACTIONS.iter().map(|&(a, l)| (a.to_string(), l)).collect();
    let mut known: HashSet<String> = ACTIONS
        .iter()
        .map(|(a, _)| a.to_ascii_lowercase())
        .collect();
    let mut unlisted = Vec::new();
    for s in parsed {
        let (Set::Only(list) | Set::AllExcept(list)) = &s.action;
        for a in list {
            let lower = a.to_ascii_lowercase();
            if !lower.starts_with("s3:") || wildcard::is_pattern(a) || !known.insert(lower) {
                continue;
            }
            if names.len() < ACTIONS.len() + MAX_NAMED_ACTIONS {
                names.push((a.clone(), guess_level(a)));
            } else {
                unlisted.push(a.clone());
            }
        }
    }
    (names, unlisted)
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
    /// Does the policy govern `bucket`? A bucket policy governs its own bucket: the
    /// given one alone, when it is known; else the buckets its `Resource`s name or
    /// match with a pattern (a `*` statement then applies to each of them); else, when
    /// every `Resource` is `*` (or `arn:aws:s3:::*`), any bucket.
    pub fn applies_to(&self, bucket: &str) -> bool {
        if self.given {
            return self.bucket.as_deref() == Some(bucket);
        }
        if self.scope.is_empty() {
            return true;
        }
        let arn = format!("arn:aws:s3:::{bucket}");
        let objects = format!("{arn}/");
        self.scope
            .iter()
            .any(|p| wildcard::matches(p, &arn) || touches(p, &objects))
    }

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

/// The samples of endpoint key `key` (lower case), if it is one.
fn endpoint_key(key: &str) -> Option<&'static [&'static str; 2]> {
    ENDPOINT_KEYS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, samples)| samples)
}

/// Does `value`, compared with operator `op` (lower case, without a set prefix or
/// `IfExists`), match every value of an endpoint key: both of its `samples`?
fn matches_any(op: &str, value: &str, samples: &[&str; 2]) -> bool {
    match op {
        "stringnotlike" | "arnnotlike" | "arnnotequals" => samples
            .iter()
            .all(|s| wildcard::matches_ignore_case(value, s)),
        "notipaddress" => value.parse::<ipnet::IpNet>().is_ok_and(|net| {
            samples.iter().all(|s| {
                s.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| net.contains(&ip))
            })
        }),
        _ => false,
    }
}

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
        let Some(samples) = endpoint_key(&key) else {
            if key == "aws:sourceip" {
                gap(GapKind::WrongKey, format!(
                    "{what}: aws:SourceIp is never set for requests through a VPC endpoint; it cannot tell endpoint traffic from internet traffic (use aws:SourceVpce, aws:SourceVpc, aws:VpceAccount or aws:VpcSourceIp)"
                ));
                any_network = true;
                sound = false;
            } else if key.contains("vpc") {
                gap(GapKind::WrongKey, format!(
                    "{what}: {} is not a condition key AWS sets; IAM treats it as absent, so the condition never tells endpoints apart (the endpoint keys are aws:SourceVpce, aws:SourceVpc, aws:SourceVpcArn, aws:VpceAccount, aws:VpceOrgID, aws:VpceOrgPaths and aws:VpcSourceIp)",
                    c.key
                ));
                any_network = true;
                sound = false;
            } else {
                s.extra.push(format!("{what} {}", c.values.join(",")));
            }
            continue;
        };
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
        let null_true = op == "null" && c.values.iter().all(|v| v.eq_ignore_ascii_case("true"));
        let negated = match key.as_str() {
            "aws:vpcsourceip" => op == "notipaddress",
            "aws:sourcevpcarn" => matches!(
                op.as_str(),
                "stringnotequals"
                    | "stringnotequalsignorecase"
                    | "stringnotlike"
                    | "arnnotequals"
                    | "arnnotlike"
            ),
            _ => matches!(
                op.as_str(),
                "stringnotequals" | "stringnotequalsignorecase" | "stringnotlike"
            ),
        };
        if c.values.is_empty() {
            gap(GapKind::EmptyValues, format!(
                "{what}: no values are listed, so the condition names no endpoint to allow; list the endpoints (or VPCs, accounts) that may reach the bucket"
            ));
            sound = false;
        } else if null_true {
            gap(GapKind::AnyEndpoint, format!(
                "{what} true: denies only requests without the key, so any VPC endpoint, in any account, passes; name the allowed endpoints with StringNotEquals"
            ));
            sound = false;
        } else if !negated {
            gap(GapKind::WrongOperator, format!(
                "{what}: in a Deny this operator denies requests that match the listed values (the endpoint's own), not requests from elsewhere; use StringNotEquals (NotIpAddress for aws:VpcSourceIp)"
            ));
            sound = false;
        } else if let Some(v) = c.values.iter().find(|v| matches_any(&op, v, samples)) {
            gap(GapKind::AnyEndpoint, format!(
                "{what} {v}: every value of {} matches {v}, so any VPC endpoint, in any account, passes; name the allowed ones",
                c.key
            ));
            sound = false;
        } else if let Some(slot) = network.slot(&key) {
            let values: BTreeSet<String> = c.values.iter().cloned().collect();
            *slot = Some(match slot.take() {
                Some(prev) => prev.union(&values).cloned().collect(),
                None => values,
            });
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

/// The buckets the statements name in their `Resource`s (literal names, not
/// patterns), in order of first mention.
fn named_buckets(statements: &[Statement]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for s in statements {
        let (Set::Only(list) | Set::AllExcept(list)) = &s.resource;
        for name in list.iter().filter_map(|r| literal_bucket(r)) {
            if seen.insert(name) {
                out.push(name.to_string());
            }
        }
    }
    out
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
    vpc_arns: Vec<String>,
    vpce_accounts: Vec<String>,
    vpce_orgs: Vec<String>,
    vpce_org_paths: Vec<String>,
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
            vpc_arns: intersect(|n| &n.vpc_arn),
            vpce_accounts: intersect(|n| &n.vpce_account),
            vpce_orgs: intersect(|n| &n.vpce_org),
            vpce_org_paths: intersect(|n| &n.vpce_org_path),
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
    statements: &[&Statement],
    action: &str,
    level: Level,
    bucket: Option<&str>,
    gaps: &mut Vec<Gap>,
) -> ActionReport {
    let mut full = Vec::new();
    let mut partial = Vec::new();
    let mut reasons = Vec::new();
    for &s in statements {
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
        vpc_arns: allowed.vpc_arns,
        vpce_accounts: allowed.vpce_accounts,
        vpce_orgs: allowed.vpce_orgs,
        vpce_org_paths: allowed.vpce_org_paths,
        vpc_source_ips: allowed.vpc_source_ips,
        statements: used.iter().map(|(s, _)| s.name.clone()).collect(),
    }
}

/// An `Allow` conditioned on the endpoint grants access from it but denies nothing:
/// an identity policy or another statement still allows the internet.
fn allow_only_gaps(statements: &[&Statement], actions: &[ActionReport], gaps: &mut Vec<Gap>) {
    for s in statements {
        if s.effect != Effect::Allow {
            continue;
        }
        let mentions_network = s
            .conditions
            .iter()
            .any(|c| endpoint_key(&c.key.to_ascii_lowercase()).is_some());
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
    fn each_bucket_is_judged_on_the_statements_its_resources_match() {
        // A catch-all Resource first, then a statement for one bucket only: the first
        // Resource is not "the" bucket, and `*` applies to every bucket named.
        let policy = r#"{"Statement": [
            {"Sid": "All", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
            {"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
             "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}},
            {"Sid": "C", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::c/*"}]}"#;
        let a = analyze(policy, None).unwrap();
        assert_eq!(a.bucket.as_deref(), Some("b"));
        let verdicts: Vec<_> = a
            .buckets
            .iter()
            .map(|v| (v.bucket.as_str(), v.status))
            .collect();
        assert_eq!(
            verdicts,
            [("b", Enforcement::Enforced), ("c", Enforcement::Partial)]
        );
        assert!(a.applies_to("b") && a.applies_to("c"));
        assert!(!a.applies_to("elsewhere"), "the policy names its buckets");
        // Bucket c is judged on the catch-all statement alone: GET denied, PUT open.
        assert!(a.claim("c", Some("k"), "REST.GET.OBJECT", None).is_some());
        assert!(a.claim("c", Some("k"), "REST.PUT.OBJECT", None).is_none());
        assert!(a.claim("b", Some("k"), "REST.PUT.OBJECT", None).is_some());
        // Given a bucket, the policy is that bucket's alone.
        let given = analyze(policy, Some("c")).unwrap();
        assert_eq!(given.status, Enforcement::Partial);
        assert!(given.applies_to("c") && !given.applies_to("b"));
        // With only catch-all resources, every bucket is under the policy.
        let any = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": "arn:aws:s3:::*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            (any.bucket.as_deref(), any.status),
            (None, Enforcement::Enforced)
        );
        assert!(any.buckets.is_empty());
        assert!(any.applies_to("x") && any.applies_to("y"));
        // A pattern of buckets covers the buckets it matches.
        let pattern = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::shared-*", "arn:aws:s3:::shared-*/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        assert!(pattern.applies_to("shared-data") && !pattern.applies_to("team-reports"));
    }

    #[test]
    fn every_current_endpoint_key_is_known_in_any_case() {
        for (key, value) in [
            ("aws:SourceVpce", "vpce-1a2b3c4d"),
            ("aws:SourceVpc", "vpc-1a2b3c4d"),
            (
                "aws:SourceVpcArn",
                "arn:aws:ec2:ap-northeast-2:111122223333:vpc/vpc-1a2b3c4d",
            ),
            ("aws:VpceAccount", "111122223333"),
            ("AWS:VPCEACCOUNT", "111122223333"),
            ("aws:VpceOrgID", "o-a1b2c3d4e5"),
            ("aws:vpceorgid", "o-a1b2c3d4e5"),
            ("aws:VpceOrgPaths", "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"),
            ("aws:VpcSourceIp", "10.0.0.0/16"),
        ] {
            let op = if key.eq_ignore_ascii_case("aws:VpcSourceIp") {
                "NotIpAddress"
            } else if key.eq_ignore_ascii_case("aws:VpceOrgPaths") {
                "ForAllValues:StringNotLike"
            } else {
                "StringNotEqualsIfExists"
            };
            let a = analyze(
                &format!(
                    r#"{{"Statement": {{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                    "Condition": {{"{op}": {{"{key}": "{value}"}}}}}}}}"#
                ),
                None,
            )
            .unwrap();
            assert_eq!(a.status, Enforcement::Enforced, "{key}: {:?}", a.gaps);
            assert!(a.gaps.is_empty(), "{key}: {:?}", a.gaps);
        }
        let get = |a: &Analysis| {
            a.actions
                .iter()
                .find(|r| r.action == "s3:GetObject")
                .cloned()
                .unwrap()
        };
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"StringNotEquals": {"aws:VpceAccount": ["111122223333"], "aws:VpceOrgID": "o-a1b2c3d4e5"}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(get(&a).vpce_accounts, ["111122223333"]);
        assert_eq!(get(&a).vpce_orgs, ["o-a1b2c3d4e5"]);
    }

    #[test]
    fn values_any_endpoint_matches_and_empty_lists_enforce_nothing() {
        let deny = |condition: &str| {
            analyze(
                &format!(
                    r#"{{"Statement": {{"Sid": "S", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {condition}}}}}"#
                ),
                None,
            )
            .unwrap()
        };
        for (condition, kind) in [
            (
                r#"{"StringNotLike": {"aws:SourceVpce": "vpce-*"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"StringNotLike": {"aws:SourceVpce": ["vpce-1", "*"]}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"StringNotLike": {"aws:sourcevpc": "vpc-????????*"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"ArnNotLike": {"aws:SourceVpcArn": "arn:aws*:ec2:*:*:vpc/*"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"StringNotLike": {"aws:VpceAccount": "*"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"StringNotLike": {"aws:VpceOrgPaths": "o-*"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"NotIpAddress": {"aws:VpcSourceIp": "0.0.0.0/0"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"Null": {"aws:SourceVpce": "true"}}"#,
                GapKind::AnyEndpoint,
            ),
            (
                r#"{"StringNotEquals": {"aws:SourceVpce": []}}"#,
                GapKind::EmptyValues,
            ),
        ] {
            let a = deny(condition);
            assert_eq!(a.status, Enforcement::NotEnforced, "{condition}");
            let gap = a.gaps.iter().find(|g| g.actions.is_empty()).unwrap();
            assert_eq!(
                (gap.kind, gap.statement.as_str()),
                (kind, "S"),
                "{condition}"
            );
            assert!(
                gap.message.contains("any VPC endpoint, in any account")
                    || kind == GapKind::EmptyValues,
                "{}",
                gap.message
            );
            assert!(a.claim("b", Some("k"), "REST.GET.OBJECT", None).is_none());
        }
        // A specific endpoint, or a prefix that not every endpoint has, enforces.
        assert_eq!(
            deny(r#"{"StringNotLike": {"aws:SourceVpce": "vpce-0a1b*"}}"#).status,
            Enforcement::Enforced
        );
        assert_eq!(
            deny(r#"{"StringNotLike": {"aws:VpceOrgPaths": "o-a1b2c3d4e5/*"}}"#).status,
            Enforcement::Enforced
        );
    }

    #[test]
    fn analysis_time_grows_linearly_with_the_policy() {
        // Statements that each name a new action, a new bucket and a new endpoint: the
        // shapes that made the analysis quadratic. Ten times the statements may take
        // at most forty times as long (generous: linear is ten), measured against the
        // smaller policy in the same run, best of three.
        let policy = |n: usize| {
            let statements: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        r#"{{"Sid": "S{i}", "Effect": "Deny", "Principal": "*",
                        "Action": ["s3:GetObject", "s3:Custom{i}Action"],
                        "Resource": ["arn:aws:s3:::bucket-{i}", "arn:aws:s3:::bucket-{i}/*"],
                        "Condition": {{"StringNotEquals": {{"aws:SourceVpce": "vpce-{i}"}},
                                       "Bool": {{"aws:SecureTransport": "true"}}}}}}"#
                    )
                })
                .collect();
            format!(r#"{{"Statement": [{}]}}"#, statements.join(","))
        };
        let best = |text: &str| {
            (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    let a = analyze(text, None).unwrap();
                    assert_eq!(a.buckets.len().min(MAX_BUCKETS), a.buckets.len());
                    start.elapsed()
                })
                .min()
                .unwrap()
        };
        let (small, large) = (policy(500), policy(5000));
        let (t_small, t_large) = (best(&small), best(&large));
        assert!(
            t_large < t_small * 40,
            "500 statements: {t_small:?}, 5000: {t_large:?}"
        );
        let a = analyze(&large, None).unwrap();
        assert_eq!(a.actions.len(), ACTIONS.len() + MAX_NAMED_ACTIONS);
        assert_eq!(a.unlisted_actions.len(), 5000 - MAX_NAMED_ACTIONS);
        assert_eq!(a.buckets.len(), MAX_BUCKETS);
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

    #[test]
    fn every_output_names_levels_verdicts_and_gaps_alike() {
        assert_eq!(
            (Level::Object.name(), Level::Bucket.name()),
            ("object", "bucket")
        );
        let verdicts = [
            Enforcement::NotEnforced,
            Enforcement::Partial,
            Enforcement::Enforced,
        ];
        let kinds = [
            GapKind::ActionNotCovered,
            GapKind::ActionPartial,
            GapKind::AllowOnly,
            GapKind::WrongKey,
            GapKind::WrongOperator,
            GapKind::NoEndpointLeft,
            GapKind::AnyEndpoint,
            GapKind::EmptyValues,
        ];
        // The names are the ones the JSON report serializes.
        for level in [Level::Object, Level::Bucket] {
            assert_eq!(serde_json::json!(level), level.name());
        }
        for verdict in verdicts {
            assert_eq!(serde_json::json!(verdict), verdict.name());
        }
        for kind in kinds {
            assert_eq!(serde_json::json!(kind), kind.name());
        }
    }

    /// Each endpoint key's allowed values are reported in the field of that key.
    #[test]
    fn every_endpoint_key_reports_its_allowed_values() {
        type Field = fn(&ActionReport) -> &Vec<String>;
        let fields: [(&str, Field); 7] = [
            ("aws:SourceVpce", |r| &r.endpoints),
            ("aws:SourceVpc", |r| &r.vpcs),
            ("aws:SourceVpcArn", |r| &r.vpc_arns),
            ("aws:VpceAccount", |r| &r.vpce_accounts),
            ("aws:VpceOrgID", |r| &r.vpce_orgs),
            ("aws:VpceOrgPaths", |r| &r.vpce_org_paths),
            ("aws:VpcSourceIp", |r| &r.vpc_source_ips),
        ];
        for (key, field) in fields {
            let (operator, value) = match key {
                "aws:VpcSourceIp" => ("NotIpAddress", "10.20.0.0/16"),
                "aws:SourceVpcArn" => ("ArnNotEquals", "arn:aws:ec2:ap-northeast-2:1:vpc/vpc-1"),
                _ => ("StringNotEquals", "allowed-1"),
            };
            let policy = format!(
                r#"{{"Statement": {{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                    "Condition": {{"{operator}": {{"{key}": "{value}"}}}}}}}}"#
            );
            let a = analyze(&policy, None).unwrap();
            let get = a
                .actions
                .iter()
                .find(|r| r.action == "s3:GetObject")
                .unwrap();
            assert_eq!(field(get), &[value.to_string()], "{key}");
        }
    }

    #[test]
    fn a_null_condition_that_is_false_denies_the_endpoint_itself() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"Null": {"aws:SourceVpce": "false"}}}}"#,
            None,
        )
        .unwrap();
        let kinds: Vec<_> = a.gaps.iter().map(|g| g.kind).collect();
        assert!(kinds.contains(&GapKind::WrongOperator), "{kinds:?}");
        assert!(!kinds.contains(&GapKind::AnyEndpoint), "{kinds:?}");
        // A JSON true is the string "true": the key merely present.
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": {"AWS": 111122223333},
                "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                "Condition": {"Null": {"aws:SourceVpce": true}}}}"#,
            None,
        )
        .unwrap();
        assert!(a.gaps.iter().any(|g| g.kind == GapKind::AnyEndpoint));
    }

    #[test]
    fn a_statement_without_resource_covers_every_resource_and_the_document_is_kept() {
        let policy = r#"{"Statement": {"Sid": "vpce", "Effect": "Deny", "Principal": "*",
            "Action": "s3:GetObject",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#;
        let a = analyze(policy, Some("b")).unwrap();
        assert_eq!(
            status(&a, "s3:GetObject"),
            Enforcement::Enforced,
            "{:?}",
            a.gaps
        );
        let wrapped = serde_json::json!({ "Policy": policy }).to_string();
        let expected: Value = serde_json::from_str(policy).unwrap();
        assert_eq!(a.document(), &expected);
        assert_eq!(analyze(&wrapped, Some("b")).unwrap().document(), &expected);
    }

    #[test]
    fn claims_follow_object_resources_not_resource_and_not_principal() {
        let deny = |extra: &str| {
            analyze(
                &format!(
                    r#"{{"Statement": {{"Sid": "s", "Effect": "Deny", "Action": "s3:*", {extra},
                        "Condition": {{"StringNotEquals": {{"aws:SourceVpce": "vpce-1"}}}}}}}}"#
                ),
                Some("b"),
            )
            .unwrap()
        };
        let get = |a: &Analysis, key: &str, who: &str| {
            a.claim("b", Some(key), "REST.GET.OBJECT", Some(who))
                .map(|c| c.statement)
        };
        let user = "arn:aws:iam::1:user/x";
        let private = deny(r#""Principal": "*", "Resource": "arn:aws:s3:::b/private/*""#);
        assert_eq!(get(&private, "private/x", user).as_deref(), Some("s"));
        assert_eq!(get(&private, "public/x", user), None);
        let not_public = deny(r#""Principal": "*", "NotResource": "arn:aws:s3:::b/public/*""#);
        assert_eq!(get(&not_public, "private/x", user).as_deref(), Some("s"));
        assert_eq!(get(&not_public, "public/x", user), None);
        let not_admin = deny(
            r#""NotPrincipal": {"AWS": "arn:aws:iam::1:role/admin"}, "Resource": "arn:aws:s3:::b/*""#,
        );
        assert_eq!(get(&not_admin, "k", user).as_deref(), Some("s"));
        assert_eq!(
            get(&not_admin, "k", "arn:aws:sts::1:assumed-role/admin/s1"),
            None
        );
    }

    #[test]
    fn a_principal_matches_its_own_arn_and_patterns_of_it() {
        let user = "arn:aws:iam::1:user/x";
        assert!(principal_is(user, user));
        assert!(principal_is("arn:aws:iam::1:user/*", user));
        assert!(!principal_is("arn:aws:iam::1:user/y", user));
        assert!(principal_is("*", user));
    }

    #[test]
    fn other_s3_actions_the_policy_names_are_reported_with_their_level() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": "*", "Resource": "*",
                "Action": ["s3:GetObject", "s3:PutBucketTagging", "s3:PutObjectRetention",
                           "s3:ListAllMyBuckets", "s3:Get*", "kms:Decrypt"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        let level = |name: &str| a.actions.iter().find(|r| r.action == name).map(|r| r.level);
        assert_eq!(level("s3:PutBucketTagging"), Some(Level::Bucket));
        assert_eq!(level("s3:ListAllMyBuckets"), Some(Level::Bucket));
        assert_eq!(level("s3:PutObjectRetention"), Some(Level::Object));
        assert_eq!(level("s3:Get*"), None, "a pattern is no action");
        assert_eq!(level("kms:Decrypt"), None, "not an S3 action");
        assert_eq!(a.actions.len(), ACTIONS.len() + 3);
    }

    #[test]
    fn a_pattern_touches_the_objects_of_a_bucket_only_if_it_could_match_one() {
        let objects = "arn:aws:s3:::b/";
        assert!(touches("arn:aws:s3:::b/logs/*", objects));
        assert!(touches("arn:aws:s3:::*", objects));
        assert!(touches("arn:aws:s3:::b/x", objects));
        assert!(
            !touches("arn:aws:s3:::b", objects),
            "the bucket, not its objects"
        );
        assert!(!touches("arn:aws:s3:::c/*", objects));
    }

    /// Each access log operation and CloudTrail event needs the IAM action AWS
    /// documents for it; ACL operations act on the object when a key is logged.
    #[test]
    fn every_logged_operation_and_event_needs_its_iam_action() {
        use Level::{Bucket, Object};
        let table = [
            ("REST.GET.OBJECT", "s3:GetObject", Object),
            ("REST.DELETE.OBJECT", "s3:DeleteObject", Object),
            ("REST.POST.MULTI_OBJECT_DELETE", "s3:DeleteObject", Object),
            ("REST.DELETE.UPLOAD", "s3:AbortMultipartUpload", Object),
            ("REST.GET.UPLOAD", "s3:ListMultipartUploadParts", Object),
            ("REST.GET.OBJECT_TAGGING", "s3:GetObjectTagging", Object),
            ("REST.PUT.OBJECT_TAGGING", "s3:PutObjectTagging", Object),
            ("REST.POST.RESTORE", "s3:RestoreObject", Object),
            ("REST.GET.BUCKET", "s3:ListBucket", Bucket),
            ("REST.HEAD.BUCKET", "s3:ListBucket", Bucket),
            ("REST.GET.BUCKETVERSIONS", "s3:ListBucketVersions", Bucket),
            ("REST.GET.UPLOADS", "s3:ListBucketMultipartUploads", Bucket),
            ("REST.GET.LOCATION", "s3:GetBucketLocation", Bucket),
            ("REST.GET.BUCKETPOLICY", "s3:GetBucketPolicy", Bucket),
            ("REST.PUT.BUCKETPOLICY", "s3:PutBucketPolicy", Bucket),
            ("REST.DELETE.BUCKETPOLICY", "s3:DeleteBucketPolicy", Bucket),
            ("GetObject", "s3:GetObject", Object),
            ("SelectObjectContent", "s3:GetObject", Object),
            ("PutObject", "s3:PutObject", Object),
            ("CompleteMultipartUpload", "s3:PutObject", Object),
            ("DeleteObjects", "s3:DeleteObject", Object),
            ("AbortMultipartUpload", "s3:AbortMultipartUpload", Object),
            ("ListParts", "s3:ListMultipartUploadParts", Object),
            ("GetObjectTagging", "s3:GetObjectTagging", Object),
            ("PutObjectTagging", "s3:PutObjectTagging", Object),
            ("RestoreObject", "s3:RestoreObject", Object),
            ("GetObjectAcl", "s3:GetObjectAcl", Object),
            ("PutObjectAcl", "s3:PutObjectAcl", Object),
            ("GetBucketAcl", "s3:GetBucketAcl", Bucket),
            ("PutBucketAcl", "s3:PutBucketAcl", Bucket),
            ("ListObjectsV2", "s3:ListBucket", Bucket),
            ("ListObjectVersions", "s3:ListBucketVersions", Bucket),
            (
                "ListMultipartUploads",
                "s3:ListBucketMultipartUploads",
                Bucket,
            ),
            ("GetBucketLocation", "s3:GetBucketLocation", Bucket),
            ("GetBucketPolicy", "s3:GetBucketPolicy", Bucket),
            ("PutBucketPolicy", "s3:PutBucketPolicy", Bucket),
            ("DeleteBucketPolicy", "s3:DeleteBucketPolicy", Bucket),
        ];
        for (operation, action, level) in table {
            assert_eq!(
                action_for_operation(operation, level == Object),
                Some((action, level)),
                "{operation}"
            );
        }
        for (operation, with_key, action, level) in [
            ("REST.GET.ACL", true, "s3:GetObjectAcl", Object),
            ("REST.PUT.ACL", true, "s3:PutObjectAcl", Object),
            ("REST.GET.ACL", false, "s3:GetBucketAcl", Bucket),
            ("REST.PUT.ACL", false, "s3:PutBucketAcl", Bucket),
        ] {
            assert_eq!(
                action_for_operation(operation, with_key),
                Some((action, level)),
                "{operation} {with_key}"
            );
        }
        assert_eq!(action_for_operation("REST.GET.NOTHING", true), None);
    }

    #[test]
    fn statements_denying_different_vpcs_leave_no_vpc_and_are_named_by_place() {
        let a = analyze(
            r#"{"Statement": [
                {"Sid": "", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                 "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}},
                {"Sid": "two", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                 "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-2"}}}]}"#,
            None,
        )
        .unwrap();
        let gap = a.gaps.iter().find(|g| g.kind == GapKind::NoEndpointLeft);
        assert_eq!(
            gap.map(|g| g.statement.as_str()),
            Some("#1, two"),
            "{:?}",
            a.gaps
        );
    }

    #[test]
    fn a_deny_for_named_principals_only_is_partial() {
        let a = analyze(
            r#"{"Statement": {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::1:role/app"},
                "Action": "s3:*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(status(&a, "s3:GetObject"), Enforcement::Partial);
        assert!(
            a.gaps.iter().any(|g| g
                .message
                .contains("applies only to arn:aws:iam::1:role/app")),
            "{:?}",
            a.gaps
        );
    }
}
