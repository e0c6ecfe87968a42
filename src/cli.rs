//! The command line as the user types it (clap derive). [`crate::config`] turns it
//! into validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::athena::sql::Dialect;
use crate::athena::Layout;
use crate::time::{parse_interval, Zone};

/// Help headings, one per kind of option.
const INPUT: &str = "Input";
const SELECT: &str = "Which requests";
const OUTPUT: &str = "Output";
const RULES: &str = "Rules";
#[cfg(feature = "s3")]
const S3: &str = "S3 inputs";

const AFTER_HELP: &str = "\
Examples:
  vpce-audit logs/                              per-bucket timeline of the logs in logs/
  vpce-audit --since 2022-05-09 --interval 10m logs/
  vpce-audit --tz Asia/Seoul --interval 1d logs/ days from midnight in Seoul
  vpce-audit --format json logs/ > audit.json   the JSON contract for scripts
  vpce-audit --format html -o audit.html logs/  one page with charts, for the audit file
  zcat old/*.gz | vpce-audit -                  read standard input
  vpce-audit --since 7d s3://my-log-bucket/logs/ read the log bucket directly
  vpce-audit requests --class public --status 403 logs/   the denied attempts

Private (VPC endpoint) addresses: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10,
fc00::/7 and every --vpc-cidr. No remote IP ('-') is internal: S3 acting on the bucket.
Any other address is public: the request came over the internet.

Exit status: 0 success, 2 usage or input error (unreadable input; any rejected line with
--strict).";

/// The most worker threads `--threads` accepts.
pub const MAX_THREADS: i64 = 1024;

/// Prove from S3 server access logs that traffic to your buckets came through the VPC
/// endpoint (private source IPs), not over the public internet.
#[derive(Debug, Parser)]
#[command(
    name = "vpce-audit",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// With no subcommand, `report` runs.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-bucket timeline of private, public and internal requests (the default).
    #[command(after_help = REPORT_HELP)]
    Report(ReportArgs),
    /// List every matched request with its class, like an Athena SELECT.
    #[command(after_help = REQUESTS_HELP)]
    Requests(RequestsArgs),
    /// Scale out on Amazon Athena: print the table DDL and the audit query.
    Athena(AthenaArgs),
    /// Fail (exit 1) when a bucket that must be private was reached over the internet:
    /// for cron, CI and scheduled jobs.
    #[command(after_help = CHECK_HELP)]
    Check(Box<CheckArgs>),
    /// Analyse a bucket policy: which actions are denied outside the VPC endpoint.
    #[command(after_help = POLICY_HELP)]
    Policy(PolicyArgs),
    /// Print a shell completion script, e.g. `vpce-audit completions bash`.
    #[command(after_help = COMPLETIONS_HELP)]
    Completions {
        /// The shell to write completions for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `vpce-audit man | man -l -`.
    #[command(after_help = MAN_HELP)]
    Man,
}

/// The names of the subcommands, for suggestions on a mistyped one.
pub const COMMANDS: [&str; 7] = [
    "report",
    "requests",
    "athena",
    "check",
    "policy",
    "completions",
    "man",
];

const REPORT_HELP: &str = "\
Examples:
  vpce-audit report logs/
  vpce-audit report --interval 10m --since 2022-05-09T10:00:00Z logs/
  vpce-audit report --tz America/New_York --interval 1d logs/
  vpce-audit report --format csv --rows requesters logs/ > requesters.csv
  vpce-audit report --from-athena results.csv

Tables fit the terminal (or COLUMNS, 80 when unknown): columns that do not fit are left
out, or rows become blocks, and the output says so.";

const REQUESTS_HELP: &str = "\
Examples:
  vpce-audit requests --class public logs/
  vpce-audit requests --class public --status 403 logs/        the denied attempts
  vpce-audit requests --requester 'arn:aws:sts::*:assumed-role/ec2-*' --status 2xx logs/
  vpce-audit requests --ip 52.79.54.241/32 --format csv -o public.csv logs/
  vpce-audit requests --error-code AccessDenied --bucket shared-data-prod logs/

The filters combine: a request is listed when it passes each one given.";

const COMPLETIONS_HELP: &str = "\
Examples:
  vpce-audit completions bash > /etc/bash_completion.d/vpce-audit
  vpce-audit completions zsh > \"${fpath[1]}/_vpce-audit\"
  vpce-audit completions fish > ~/.config/fish/completions/vpce-audit.fish";

const MAN_HELP: &str = "\
Examples:
  vpce-audit man | man -l -
  vpce-audit man > /usr/local/share/man/man1/vpce-audit.1";

/// When to colour verdicts and results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal, unless NO_COLOR is set or TERM is dumb.
    #[default]
    Auto,
    /// Always, even into a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// What to read and which requests to look at; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Log files or directories (read recursively, hidden entries skipped), `-` for
    /// standard input, or `s3://bucket/prefix` to read the log bucket directly. Gzip is
    /// recognised by its content, whatever the name.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// Follow symbolic links inside directories. Without it, a link inside a directory
    /// is left out with a warning (a link in a log folder could point at any file);
    /// an INPUT named on the command line is read even when it is a link.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Which requests to look at, and which addresses are private.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Worker threads, 1 to 1024; 0 uses every core.
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = INPUT,
          value_parser = clap::value_parser!(u16).range(0..=MAX_THREADS))]
    pub threads: u16,

    /// Exit with status 2 if any line is rejected.
    #[arg(long, help_heading = INPUT)]
    pub strict: bool,

    /// Show no progress bar. One is drawn on stderr only when it is a terminal, the
    /// input is large (64 MiB of files, or standard input) and the run lasts over a
    /// second; it is cleared before the report is written.
    #[arg(short, long, help_heading = INPUT)]
    pub quiet: bool,

    /// How many rejected lines to print on stderr (all are counted).
    #[arg(long, value_name = "N", default_value_t = 5, help_heading = INPUT)]
    pub show_rejects: usize,

    /// Do not neutralise spreadsheet formulas (=, +, -, @) at the start of CSV cells.
    #[arg(long, help_heading = OUTPUT)]
    pub raw_csv: bool,

    /// Colour verdicts and results: auto (a terminal, unless NO_COLOR is set), always,
    /// never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, help_heading = OUTPUT)]
    pub color: ColorChoice,

    /// How to reach S3 for `s3://` inputs.
    #[command(flatten)]
    pub s3: S3Args,
}

/// Where and as whom S3 is reached; the flags mean what they mean in the AWS CLI, and
/// credentials come from the standard chain (environment, profile, SSO, web identity,
/// container and instance roles).
#[cfg(feature = "s3")]
#[derive(Debug, Clone, Default, Args)]
pub struct S3Access {
    /// Named profile from ~/.aws/config (default: $AWS_PROFILE, then `default`).
    #[arg(long, value_name = "NAME", help_heading = S3)]
    pub profile: Option<String>,

    /// Region of the bucket (default: $AWS_REGION, the profile's region, then
    /// us-east-1).
    #[arg(long, value_name = "REGION", help_heading = S3)]
    pub region: Option<String>,

    /// Send S3 requests to this URL, e.g. an S3-compatible store; implies
    /// --force-path-style.
    #[arg(long, value_name = "URL", help_heading = S3)]
    pub endpoint_url: Option<String>,

    /// Address buckets as https://host/bucket rather than https://bucket.host.
    #[arg(long, help_heading = S3)]
    pub force_path_style: bool,
}

/// How `s3://` inputs are read: as whom, and how many objects at once.
#[cfg(feature = "s3")]
#[derive(Debug, Clone, Default, Args)]
pub struct S3Args {
    #[command(flatten)]
    pub access: S3Access,

    /// Fix the number of S3 requests in flight at N. By default it adapts: it starts
    /// at 64, grows while objects then arrive faster, and backs off when S3 throttles.
    /// Either way downloads hold at most 48 MiB (a budget of bytes, not a count), so
    /// memory stays flat whatever the number or the object sizes.
    #[arg(long, value_name = "N", help_heading = S3,
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub s3_concurrency: Option<u16>,
}

/// A build without the `s3` feature has no S3 flags.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Default, Args)]
pub struct S3Access {}

/// A build without the `s3` feature has no S3 flags.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Default, Args)]
pub struct S3Args {
    #[command(flatten)]
    pub access: S3Access,
}

/// The flags that choose and classify requests, shared by every command that reads
/// logs and by `athena query`, which turns them into SQL.
#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// Only this bucket (repeat for several).
    #[arg(long, value_name = "NAME", help_heading = SELECT)]
    pub bucket: Vec<String>,

    /// Only requests at or after this time: RFC 3339 (2022-05-09T10:00:00Z,
    /// 2022-05-09T19:00:00+09:00), a date (2022-05-09, midnight UTC), or a duration
    /// before now (30m, 24h, 7d).
    #[arg(long, value_name = "TIME", help_heading = SELECT)]
    pub since: Option<String>,

    /// Only requests before this time (exclusive); same forms as --since.
    #[arg(long, value_name = "TIME", help_heading = SELECT)]
    pub until: Option<String>,

    /// Only this operation, e.g. REST.GET.OBJECT (repeat for several).
    #[arg(long, value_name = "OP", help_heading = SELECT)]
    pub operation: Vec<String>,

    /// Also count this range as private (a VPC CIDR outside RFC 1918; repeatable).
    #[arg(long, value_name = "CIDR", help_heading = SELECT)]
    pub vpc_cidr: Vec<IpNet>,
}

/// The timeline's windows and the clock times are shown on.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// Length of a timeline window: minutes or hours that divide a day (1m, 5m, 10m,
    /// 15m, 30m, 1h, 2h, 6h, 12h), 1d, or 1w (from Monday). Aligned in UTC, or on the
    /// --tz zone's midnight.
    #[arg(long, value_name = "LENGTH", default_value = "1h", value_parser = interval, help_heading = OUTPUT)]
    pub interval: i64,

    /// Show times in this time zone (an IANA name: Asia/Seoul, America/New_York) in
    /// tables, CSV and HTML, and cut days and weeks at its midnight; JSON stays UTC.
    #[arg(long, value_name = "ZONE", value_parser = zone, help_heading = OUTPUT)]
    pub tz: Option<Zone>,
}

/// `--interval`: a window length in seconds.
fn interval(text: &str) -> Result<i64, String> {
    parse_interval(text)
}

/// `--tz`: a time zone.
fn zone(text: &str) -> Result<Zone, String> {
    Zone::parse(text)
}

/// `vpce-audit report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub windows: WindowArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table, help_heading = OUTPUT)]
    pub format: ReportFormat,

    /// What the rows of --format csv are: the timeline (one row per bucket and
    /// window), the requesters, the accounts or the transitions of every bucket.
    #[arg(long, value_enum, default_value_t = CsvRows::Timeline, help_heading = OUTPUT)]
    pub rows: CsvRows,

    /// Write the report to FILE instead of standard output (replacing FILE).
    #[arg(short, long, value_name = "FILE", help_heading = OUTPUT)]
    pub output: Option<PathBuf>,

    /// INPUT is the CSV result of `vpce-audit athena query` run on Athena (one file or
    /// -), not logs; the query already applied the filters, the interval and the zone.
    #[arg(long, help_heading = INPUT,
          conflicts_with_all = ["bucket", "since", "until", "operation", "vpc_cidr", "interval", "tz", "evidence_hashes", "aws_ip_ranges"])]
    pub from_athena: bool,

    /// Chain of custody: list every input's name, size and SHA-256 (of the bytes as
    /// stored, what `sha256sum` prints) in the JSON and HTML reports, hashed while
    /// read. Each file is then read by one thread.
    #[arg(long, help_heading = OUTPUT)]
    pub evidence_hashes: bool,

    /// Tag public addresses with the AWS range they are in (`EC2 ap-northeast-2`) or
    /// `outside AWS`, from AWS's published ip-ranges.json
    /// (https://ip-ranges.amazonaws.com/ip-ranges.json, downloaded by you).
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub aws_ip_ranges: Option<PathBuf>,
}

/// The rows of `report --format csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CsvRows {
    /// One row per bucket and window.
    Timeline,
    /// One row per bucket and requester (the requester table).
    Requesters,
    /// One row per bucket and account.
    Accounts,
    /// One row per switch between the VPC endpoint and the internet.
    Transitions,
}

/// The request filters of `requests` and `athena requests`, beyond those of every
/// command.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestFilterArgs {
    /// Only requests of this class: private, public or internal (repeatable).
    #[arg(long, value_enum, value_name = "CLASS", help_heading = SELECT)]
    pub class: Vec<ClassArg>,

    /// Only this HTTP status (403), or class of statuses (4xx) (repeatable).
    #[arg(long, value_name = "STATUS", help_heading = SELECT)]
    pub status: Vec<String>,

    /// Only this S3 error code, e.g. AccessDenied; `*` and `?` are wildcards
    /// (repeatable).
    #[arg(long, value_name = "CODE", help_heading = SELECT)]
    pub error_code: Vec<String>,

    /// Only this requester: an ARN with `*` and `?` wildcards, as in the check rules
    /// (it matches the session or its role), a 12-digit account id, or `anonymous`
    /// (repeatable).
    #[arg(long, value_name = "PATTERN", help_heading = SELECT)]
    pub requester: Vec<String>,

    /// Only requests from this range or address (repeatable).
    #[arg(long, value_name = "CIDR", help_heading = SELECT)]
    pub ip: Vec<String>,
}

/// A request class on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClassArg {
    /// Through the VPC endpoint (a private address).
    Private,
    /// Over the internet (a public address).
    Public,
    /// S3's own requests (no address).
    Internal,
}

/// `vpce-audit requests`.
#[derive(Debug, Clone, Args)]
pub struct RequestsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: RequestFilterArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table, help_heading = OUTPUT)]
    pub format: ListFormat,

    /// Show times in this time zone (an IANA name) in the table and CSV; NDJSON stays
    /// UTC.
    #[arg(long, value_name = "ZONE", value_parser = zone, help_heading = OUTPUT)]
    pub tz: Option<Zone>,

    /// Write the listing to FILE instead of standard output (replacing FILE).
    #[arg(short, long, value_name = "FILE", help_heading = OUTPUT)]
    pub output: Option<PathBuf>,

    /// Add the AWS range of each public address (`aws_service`, `aws_region`) from
    /// AWS's published ip-ranges.json.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub aws_ip_ranges: Option<PathBuf>,
}

const CHECK_HELP: &str = "\
Examples:
  vpce-audit check --require-private 'shared-data-*' logs/
  vpce-audit check --policy vpce-policy.toml --since 24h --format json logs/
  vpce-audit check --policy vpce-policy.toml --state /var/lib/vpce-audit/state.json logs/
  vpce-audit check --require-private shared-data-prod --bucket-policy policy.json logs/
  vpce-audit check --policy vpce-policy.toml --format html -o evidence.html logs/
  vpce-audit check --policy vpce-policy.toml --format ocsf -o findings.json logs/

A violation is a request from a public address to a bucket that must be private that was
let through. Public requests a policy denied (HTTP 403 AccessDenied) are blocked attempts,
and those refused before any policy (a bad signature, an unknown key) rejected attempts:
listed apart, not violations (blocked ones are with --count-blocked). Private requests
denied through the endpoint are a warning (a failure with --fail-on-private-denied). With
--bucket-policy, succeeded public requests that the policy says are denied are
contradictions, which also fail the check.

A PASS needs evidence: no parsed record, a rule that matched no request, more than
--max-rejected of the lines rejected, or (with --max-age) evidence older than that are
findings that fail the check (--allow-no-evidence makes missing evidence a warning).

Exit status: 0 no violations, contradictions or failing findings, 1 any of them found,
2 usage or input error (unreadable input, bad rules, corrupt or busy state; any rejected
line with --strict). With --state, only log objects not seen before are read, the exit
status judges those, and the state is written only when the status is 0 or 1.";

const POLICY_HELP: &str = "\
Examples:
  vpce-audit policy policy.json
  aws s3api get-bucket-policy --bucket shared-data-prod | vpce-audit policy -

Exit status: 0 every action is denied outside the allowed endpoints, 1 gaps found,
2 the policy could not be read.";

/// `vpce-audit check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Compliance rules file (TOML): buckets that must be private, exceptions.
    #[arg(long, value_name = "FILE", help_heading = RULES)]
    pub policy: Option<PathBuf>,

    /// This bucket must only be reached through the VPC endpoint; `*` and `?` are
    /// wildcards (repeatable; checked after the --policy file's rules).
    #[arg(long, value_name = "BUCKET", help_heading = RULES)]
    pub require_private: Vec<String>,

    /// Public requests from this range are allowed, e.g. a partner's office range
    /// (repeatable; applies to every rule). A range that covers requesters who also
    /// come through the endpoint is warned about: it may hide the endpoint bypassed.
    #[arg(long, value_name = "CIDR", help_heading = RULES)]
    pub allow_cidr: Vec<String>,

    /// Requests by this account id or requester ARN (wildcards allowed) are allowed
    /// from anywhere (repeatable; applies to every rule).
    #[arg(long, value_name = "ARN|ACCOUNT", help_heading = RULES)]
    pub allow_requester: Vec<String>,

    /// This operation is never a violation, e.g. REST.GET.BUCKETPOLICY (repeatable,
    /// wildcards allowed; applies to every rule).
    #[arg(long, value_name = "OP", help_heading = RULES)]
    pub ignore_operation: Vec<String>,

    /// Count blocked attempts (public requests a policy denied, HTTP 403
    /// AccessDenied) as violations.
    #[arg(long, help_heading = RULES)]
    pub count_blocked: bool,

    /// Fail (exit 1) when requests through the VPC endpoint were denied (HTTP 403
    /// AccessDenied: the bucket policy names another endpoint, or an endpoint policy
    /// refuses); a warning otherwise.
    #[arg(long, help_heading = RULES)]
    pub fail_on_private_denied: bool,

    /// The largest share of rejected lines before the input counts as unreadable (a
    /// finding that fails the check): a percentage such as 1%, 0.5% or 100%.
    #[arg(long, value_name = "PERCENT", default_value = "1%", help_heading = RULES)]
    pub max_rejected: String,

    /// Fail when the newest request under a rule is older than this (30m, 26h, 7d):
    /// logging switched off, or logs delivered elsewhere. Default 26h with --state.
    #[arg(long, value_name = "DURATION", help_heading = RULES)]
    pub max_age: Option<String>,

    /// Silence is expected: a rule that matched nothing, no record at all or stale
    /// evidence is a warning, not a failure.
    #[arg(long, help_heading = RULES)]
    pub allow_no_evidence: bool,

    /// Requests without a remote IP (S3 itself) are violations too, for every rule.
    #[arg(long, help_heading = RULES)]
    pub forbid_internal: bool,

    /// Cross-check against this bucket policy (a JSON file, or `s3://bucket` to fetch
    /// it): succeeded public requests that it says are denied are contradictions.
    #[arg(long, value_name = "FILE", help_heading = RULES)]
    pub bucket_policy: Option<PathBuf>,

    /// When the bucket policy took effect (same forms as --since): earlier requests
    /// are not cross-checked with it.
    #[arg(long, value_name = "TIME", requires = "bucket_policy", help_heading = RULES)]
    pub policy_since: Option<String>,

    /// Incremental runs: remember processed log objects (by content) and per-bucket
    /// counters in FILE; read only new objects. Written only after a run that exits 0
    /// or 1. Not with --since/--until: late logs would be lost (docs/check.md).
    #[arg(long, value_name = "FILE", help_heading = RULES)]
    pub state: Option<PathBuf>,

    /// How long to wait for another run that holds the --state file (0s: not at all)
    /// before exiting with status 2.
    #[arg(long, value_name = "DURATION", default_value = "5m", help_heading = RULES)]
    pub lock_timeout: String,

    /// How long the --state file remembers a processed log object; older records are
    /// not judged again.
    #[arg(long, value_name = "DURATION", default_value = "90d", help_heading = RULES)]
    pub state_retention: String,

    /// Chain of custody: list every input's name, size and SHA-256 (of the bytes as
    /// stored) in the JSON and HTML reports, hashed while read.
    #[arg(long, help_heading = OUTPUT)]
    pub evidence_hashes: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table, help_heading = OUTPUT)]
    pub format: CheckFormat,

    /// Write the check report to FILE instead of standard output (replacing FILE).
    #[arg(short, long, value_name = "FILE", help_heading = OUTPUT)]
    pub output: Option<PathBuf>,

    /// The windows of the timeline charts of --format html, and the zone times are
    /// shown in; the verdicts do not depend on them.
    #[command(flatten)]
    pub windows: WindowArgs,
}

/// `vpce-audit policy`.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// The bucket policy JSON (as written, or as `aws s3api get-bucket-policy` prints
    /// it), `-` for standard input, or `s3://bucket` to fetch it with GetBucketPolicy.
    #[arg(value_name = "FILE")]
    pub file: String,

    /// The bucket the policy belongs to (default: the bucket of an `s3://` FILE, else
    /// the first bucket in a Resource).
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = PolicyFormat::Table, help_heading = OUTPUT)]
    pub format: PolicyFormat,

    /// Colour the verdicts: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto, help_heading = OUTPUT)]
    pub color: ColorChoice,

    /// How to reach S3 for an `s3://` FILE.
    #[command(flatten)]
    pub s3: S3Access,
}

/// Report output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables for a terminal.
    Table,
    /// The documented JSON contract.
    Json,
    /// One row per bucket and window.
    Csv,
    /// One self-contained page with a timeline chart per bucket, for an audit file.
    Html,
}

/// Output formats of `requests`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Paged terminal table of the main columns.
    Table,
    /// Every field plus `class`, `source` and `line`; `-` fields are empty cells.
    Csv,
    /// One JSON object per line: every field in snake_case plus `class`, `source`
    /// and `line` (where the request is in the input).
    Ndjson,
}

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Summary, findings, per-bucket counters and flagged requests for a terminal.
    Table,
    /// The whole report: `summary`, `findings`, `rules`, `buckets`, `violations`,
    /// `contradictions`, `attempts`, `private_denied`, `bucket_policy`, `rejections`,
    /// `errors`.
    Json,
    /// One row per finding, then per flagged request, with a `kind`.
    Csv,
    /// One self-contained page of evidence: verdicts, violations and, per bucket, the
    /// timeline chart of `report --format html` (use with -o FILE).
    Html,
    /// OCSF Detection Findings (JSON array), as AWS Security Hub and Security Lake
    /// ingest them: one per finding, violation, contradiction and attempt.
    Ocsf,
    /// JUnit XML for CI systems: one test case per rule and bucket.
    Junit,
}

/// Output formats of `policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    /// One row per action, then the gaps.
    Table,
    /// `bucket`, `status`, `statements`, `actions`, `gaps`.
    Json,
}

const ATHENA_HELP: &str = "\
The scale-out path, for logs too big for one machine:
  1. vpce-audit athena ddl --location s3://LOG-BUCKET/PREFIX/ > table.sql
     run table.sql once in the Athena console (or `aws athena start-query-execution`)
  2. vpce-audit athena query --since 2024-03-01 --interval 1h > audit.sql
     run audit.sql in Athena and download the result CSV
  3. vpce-audit report --from-athena results.csv
     the same tables, JSON and verdicts as a local run

Athena bills per TB scanned: use --layout partitioned (S3's date-based log key format)
and --since/--until so that partition projection reads only the days asked for.";

/// `vpce-audit athena`.
#[derive(Debug, Clone, Args)]
#[command(after_help = ATHENA_HELP)]
pub struct AthenaArgs {
    #[command(subcommand)]
    pub command: AthenaCommand,
}

/// The `athena` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum AthenaCommand {
    /// Print the CREATE EXTERNAL TABLE for the access logs under an S3 prefix.
    Ddl(DdlArgs),
    /// Print the SQL that computes the per-bucket timeline on Athena; feed its CSV
    /// result to `vpce-audit report --from-athena`.
    #[command(after_help = QUERY_HELP)]
    Query(QueryArgs),
    /// Print a row-level SELECT of the requests with their class, filtered like
    /// `vpce-audit requests`.
    #[command(after_help = ATHENA_REQUESTS_HELP)]
    Requests(AthenaRequestsArgs),
}

const DDL_HELP: &str = "\
Examples:
  vpce-audit athena ddl --location s3://my-log-bucket/s3-access/
  vpce-audit athena ddl --layout partitioned --location s3://my-log-bucket/s3-access/ \\
      --account 111122223333 --region ap-northeast-2 --source-bucket shared-data-prod \\
      --from 2024-03-01";

const QUERY_HELP: &str = "\
Examples:
  vpce-audit athena query --since 2024-03-01 --interval 1h > audit.sql
  vpce-audit athena query --layout partitioned --since 7d --bucket shared-data-prod
  vpce-audit athena query --tz Asia/Seoul --interval 1d
  vpce-audit athena query --dialect duckdb > audit.sql    the same audit on DuckDB";

const ATHENA_REQUESTS_HELP: &str = "\
Examples:
  vpce-audit athena requests --class public --since 2024-03-01
  vpce-audit athena requests --class public --status 403 --bucket shared-data-prod
  vpce-audit athena requests --requester 111122223333 --ip 52.79.54.241";

/// Which table: shared by `ddl` and `query`, so that both name the same one.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Glue database of the table.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,

    /// Table name (default: s3_access_logs, or cloudtrail_logs with --cloudtrail).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,

    /// The table holds CloudTrail log files (the layout AWS documents, partitioned by
    /// day), not access logs: `ddl` writes that table, `query` the per-bucket,
    /// per-VPC-endpoint breakdown of its S3 requests.
    #[arg(long)]
    pub cloudtrail: bool,

    /// The log object key format of the bucket's logging configuration: `simple`
    /// (PREFIX + YYYY-mm-DD-HH-MM-SS-UniqueString; every query reads every object) or
    /// `partitioned` (PREFIX + SourceAccountId/SourceRegion/SourceBucket/YYYY/MM/DD/…;
    /// queries read only the days and buckets they ask for).
    #[arg(long, value_enum, default_value_t = Layout::Simple)]
    pub layout: Layout,
}

/// `vpce-audit athena ddl`.
#[derive(Debug, Clone, Args)]
#[command(after_help = DDL_HELP)]
pub struct DdlArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// Where the logs are: the target bucket and prefix of the logging configuration,
    /// e.g. s3://my-log-bucket/s3-access/; with --cloudtrail, one account and region of
    /// the trail, e.g. s3://my-trail/AWSLogs/111122223333/CloudTrail/ap-northeast-2/.
    #[arg(long, value_name = "S3_URI")]
    pub location: String,

    /// Partitioned layout: the source account ID(s) in the key (repeatable).
    #[arg(long, value_name = "ID")]
    pub account: Vec<String>,

    /// Partitioned layout: the source region(s) in the key (repeatable).
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,

    /// Partitioned layout: the source bucket(s) in the key (repeatable).
    #[arg(long, value_name = "NAME")]
    pub source_bucket: Vec<String>,

    /// Partitioned layout and --cloudtrail: the first day of logs (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,

    /// Partitioned layout: the last day of logs (YYYY-MM-DD), or NOW.
    #[arg(long, value_name = "DATE", default_value = "NOW")]
    pub to: String,
}

/// `vpce-audit athena query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// SQL dialect: trino for Athena, duckdb for running the same audit with DuckDB.
    #[arg(long, value_enum, default_value_t = Dialect::Trino)]
    pub dialect: Dialect,

    #[command(flatten)]
    pub windows: WindowArgs,

    /// Which requests the query counts, as for `vpce-audit report`; --since and
    /// --until also limit the days Athena reads.
    #[command(flatten)]
    pub select: SelectArgs,
}

/// `vpce-audit athena requests`.
#[derive(Debug, Clone, Args)]
pub struct AthenaRequestsArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// SQL dialect: trino for Athena, duckdb for running the same query with DuckDB.
    #[arg(long, value_enum, default_value_t = Dialect::Trino)]
    pub dialect: Dialect,

    /// Which requests to list, as for `vpce-audit requests`; --since and --until also
    /// limit the days Athena reads.
    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub filter: RequestFilterArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn report_is_the_default_command() {
        let cli = Cli::try_parse_from(["vpce-audit", "--interval", "5m", "logs/"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.report.input.inputs, ["logs/"]);
        assert_eq!(cli.report.windows.interval, 300);
        let cli =
            Cli::try_parse_from(["vpce-audit", "requests", "--format", "ndjson", "-"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Requests(r)) if r.format == ListFormat::Ndjson)
        );
    }
}
