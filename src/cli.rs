//! The command line as the user types it (clap derive). [`crate::config`] turns it
//! into validated settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::athena::sql::Dialect;
use crate::athena::Layout;

const AFTER_HELP: &str = "\
Examples:
  vpce-audit logs/                              per-bucket timeline of the logs in logs/
  vpce-audit --since 2022-05-09 --interval 5m logs/
  vpce-audit --format json logs/ > audit.json   the JSON contract for scripts
  vpce-audit --format html -o audit.html logs/  one page with charts, for the audit file
  zcat old/*.gz | vpce-audit -                  read standard input
  vpce-audit --since 7d s3://my-log-bucket/logs/ read the log bucket directly
  vpce-audit requests --format ndjson logs/     every request, one JSON object a line

Private (VPC endpoint) addresses: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10,
fc00::/7 and every --vpc-cidr. No remote IP ('-') is internal: S3 acting on the bucket.
Any other address is public: the request came over the internet.

Exit status: 0 success, 2 usage or input error (unreadable input; any rejected line with
--strict).";

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
    Report(ReportArgs),
    /// List every matched request with its class, like an Athena SELECT.
    Requests(RequestsArgs),
    /// Scale out on Amazon Athena: print the table DDL and the audit query.
    Athena(AthenaArgs),
    /// Fail (exit 1) when a bucket that must be private was reached over the internet:
    /// for cron, CI and scheduled jobs.
    #[command(after_help = CHECK_HELP)]
    Check(CheckArgs),
    /// Analyse a bucket policy: which actions are denied outside the VPC endpoint.
    #[command(after_help = POLICY_HELP)]
    Policy(PolicyArgs),
    /// Print a shell completion script, e.g. `vpce-audit completions bash`.
    Completions {
        /// The shell to write completions for.
        shell: clap_complete::Shell,
    },
}

/// What to read and which requests to look at; shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Log files or directories (read recursively, hidden entries skipped), `-` for
    /// standard input, or `s3://bucket/prefix` to read the log bucket directly. Gzip is
    /// recognised by its content, whatever the name.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// Which requests to look at, and which addresses are private.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Worker threads; 0 uses every core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Exit with status 2 if any line is rejected.
    #[arg(long)]
    pub strict: bool,

    /// Show no progress bar. One is drawn on stderr only when it is a terminal, the
    /// input is large (64 MiB of files, or standard input) and the run lasts over a
    /// second; it is cleared before the report is written.
    #[arg(short, long)]
    pub quiet: bool,

    /// How many rejected lines to print on stderr (all are counted).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show_rejects: usize,

    /// Do not neutralise spreadsheet formulas (=, +, -, @) at the start of CSV cells.
    #[arg(long)]
    pub raw_csv: bool,

    /// How to reach S3 for `s3://` inputs.
    #[command(flatten)]
    pub s3: S3Args,
}

/// Where and as whom `s3://` inputs are read; the flags mean what they mean in the AWS
/// CLI, and credentials come from the standard chain (environment, profile, SSO, web
/// identity, container and instance roles).
#[cfg(feature = "s3")]
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "S3 inputs")]
pub struct S3Args {
    /// Named profile from ~/.aws/config (default: $AWS_PROFILE, then `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Region of the log bucket (default: $AWS_REGION, the profile's region, then
    /// us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Send S3 requests to this URL, e.g. an S3-compatible store; implies
    /// --force-path-style.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Address buckets as https://host/bucket rather than https://bucket.host.
    #[arg(long)]
    pub force_path_style: bool,

    /// Fix the number of S3 requests in flight at N. By default it adapts: it starts
    /// at 64, grows while objects then arrive faster, and backs off when S3 throttles.
    /// Either way downloads hold at most 48 MiB (a budget of bytes, not a count), so
    /// memory stays flat whatever the number or the object sizes.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub s3_concurrency: Option<u16>,
}

/// A build without the `s3` feature has no S3 flags.
#[cfg(not(feature = "s3"))]
#[derive(Debug, Clone, Default, Args)]
pub struct S3Args {}

/// The flags that choose and classify requests, shared by every command that reads
/// logs and by `athena query`, which turns them into SQL.
#[derive(Debug, Clone, Args)]
pub struct SelectArgs {
    /// Only this bucket (repeat for several).
    #[arg(long, value_name = "NAME")]
    pub bucket: Vec<String>,

    /// Only requests at or after this time: RFC 3339 (2022-05-09T10:00:00Z,
    /// 2022-05-09T19:00:00+09:00), a date (2022-05-09, midnight UTC), or a duration
    /// before now (30m, 24h, 7d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only requests before this time (exclusive); same forms as --since.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only this operation, e.g. REST.GET.OBJECT (repeat for several).
    #[arg(long, value_name = "OP")]
    pub operation: Vec<String>,

    /// Also count this range as private (a VPC CIDR outside RFC 1918; repeatable).
    #[arg(long, value_name = "CIDR")]
    pub vpc_cidr: Vec<IpNet>,
}

/// `vpce-audit report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Length of a timeline window; windows are aligned in UTC.
    #[arg(long, value_enum, default_value_t = Interval::H1)]
    pub interval: Interval,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write the report to FILE instead of standard output (replacing FILE).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// INPUT is the CSV result of `vpce-audit athena query` run on Athena (one file or
    /// -), not logs; the query already applied the filters and the interval.
    #[arg(long, conflicts_with_all = ["bucket", "since", "until", "operation", "vpc_cidr", "interval"])]
    pub from_athena: bool,
}

/// `vpce-audit requests`.
#[derive(Debug, Clone, Args)]
pub struct RequestsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

const CHECK_HELP: &str = "\
Examples:
  vpce-audit check --require-private 'shared-data-*' logs/
  vpce-audit check --policy vpce-policy.toml --since 24h --format json logs/
  vpce-audit check --policy vpce-policy.toml --state /var/lib/vpce-audit/state.json logs/
  vpce-audit check --require-private shared-data-prod --bucket-policy policy.json logs/
  vpce-audit check --policy vpce-policy.toml --format html -o evidence.html logs/

A violation is a request from a public address to a bucket that must be private that was
not denied. Public requests answered with HTTP 403 are blocked attempts: listed apart, not
violations (unless --count-blocked). With --bucket-policy, succeeded public requests that the
policy says are denied are contradictions, which also fail the check.

Exit status: 0 no violations or contradictions, 1 violations or contradictions found,
2 usage or input error (unreadable input, bad rules, corrupt state; any rejected line with
--strict). With --state, only log objects not seen before are read, the exit status judges
those, and the state is written only when the status is 0 or 1.";

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
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// This bucket must only be reached through the VPC endpoint; `*` and `?` are
    /// wildcards (repeatable; checked after the --policy file's rules).
    #[arg(long, value_name = "BUCKET")]
    pub require_private: Vec<String>,

    /// Public requests from this range are allowed, e.g. a partner's office range
    /// (repeatable; applies to every rule). Never a NAT gateway's address: traffic
    /// that leaves the endpoint through a NAT is the leak the check looks for.
    #[arg(long, value_name = "CIDR")]
    pub allow_cidr: Vec<String>,

    /// Requests by this account id or requester ARN (wildcards allowed) are allowed
    /// from anywhere (repeatable; applies to every rule).
    #[arg(long, value_name = "ARN|ACCOUNT")]
    pub allow_requester: Vec<String>,

    /// This operation is never a violation, e.g. REST.GET.BUCKETPOLICY (repeatable,
    /// wildcards allowed; applies to every rule).
    #[arg(long, value_name = "OP")]
    pub ignore_operation: Vec<String>,

    /// Count blocked attempts (public requests denied with HTTP 403) as violations.
    #[arg(long)]
    pub count_blocked: bool,

    /// Requests without a remote IP (S3 itself) are violations too, for every rule.
    #[arg(long)]
    pub forbid_internal: bool,

    /// Cross-check against this bucket policy (a JSON file, or `s3://bucket` to fetch
    /// it): succeeded public requests that it says are denied are contradictions.
    #[arg(long, value_name = "FILE")]
    pub bucket_policy: Option<PathBuf>,

    /// Incremental runs: remember processed log objects and per-bucket counters in
    /// FILE; read only new objects. Written only after a run that exits 0 or 1.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Table)]
    pub format: CheckFormat,

    /// Write the check report to FILE instead of standard output (replacing FILE).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Length of a window in the timeline charts of --format html (windows are aligned
    /// in UTC); the verdicts do not depend on it.
    #[arg(long, value_enum, default_value_t = Interval::H1)]
    pub interval: Interval,
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
    #[arg(long, value_enum, default_value_t = PolicyFormat::Table)]
    pub format: PolicyFormat,

    /// How to reach S3 for an `s3://` FILE.
    #[command(flatten)]
    pub s3: S3Args,
}

/// Timeline window lengths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Interval {
    #[value(name = "1m")]
    M1,
    #[value(name = "5m")]
    M5,
    #[value(name = "15m")]
    M15,
    #[value(name = "1h")]
    H1,
    #[value(name = "1d")]
    D1,
}

impl Interval {
    /// The window length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Interval::M1 => 60,
            Interval::M5 => 300,
            Interval::M15 => 900,
            Interval::H1 => 3600,
            Interval::D1 => 86_400,
        }
    }
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
    /// Summary, per-bucket counters and flagged requests for a terminal.
    Table,
    /// The whole report: `summary`, `rules`, `buckets`, `violations`,
    /// `contradictions`, `bucket_policy`, `rejections`, `errors`.
    Json,
    /// One row per flagged request (violations, then contradictions), with a `kind`.
    Csv,
    /// One self-contained page of evidence: verdicts, violations and, per bucket, the
    /// timeline chart of `report --format html` (use with -o FILE).
    Html,
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
    Query(QueryArgs),
}

/// Which table: shared by `ddl` and `query`, so that both name the same one.
#[derive(Debug, Clone, Args)]
pub struct TableArgs {
    /// Glue database of the table.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub database: String,

    /// Table name.
    #[arg(long, value_name = "NAME", default_value = "s3_access_logs")]
    pub table: String,

    /// The log object key format of the bucket's logging configuration: `simple`
    /// (PREFIX + YYYY-mm-DD-HH-MM-SS-UniqueString; every query reads every object) or
    /// `partitioned` (PREFIX + SourceAccountId/SourceRegion/SourceBucket/YYYY/MM/DD/…;
    /// queries read only the days and buckets they ask for).
    #[arg(long, value_enum, default_value_t = Layout::Simple)]
    pub layout: Layout,
}

/// `vpce-audit athena ddl`.
#[derive(Debug, Clone, Args)]
pub struct DdlArgs {
    #[command(flatten)]
    pub table: TableArgs,

    /// Where the logs are: the target bucket and prefix of the logging configuration,
    /// e.g. s3://my-log-bucket/s3-access/.
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

    /// Partitioned layout: the first day of logs (YYYY-MM-DD).
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

    /// Length of a timeline window; windows are aligned in UTC.
    #[arg(long, value_enum, default_value_t = Interval::H1)]
    pub interval: Interval,

    /// Which requests the query counts, as for `vpce-audit report`; --since and
    /// --until also limit the days Athena reads.
    #[command(flatten)]
    pub select: SelectArgs,
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
        assert_eq!(cli.report.interval, Interval::M5);
        let cli =
            Cli::try_parse_from(["vpce-audit", "requests", "--format", "ndjson", "-"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Requests(r)) if r.format == ListFormat::Ndjson)
        );
    }
}
