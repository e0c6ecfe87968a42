//! The command line as the user types it (clap derive). [`crate::config`] turns it
//! into validated settings.

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

use crate::report::requests::ListFormat;

const AFTER_HELP: &str = "\
Examples:
  vpce-audit logs/                              per-bucket timeline of the logs in logs/
  vpce-audit --since 2022-05-09 --interval 5m logs/
  vpce-audit --format json logs/ > audit.json   the JSON contract for scripts
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

    /// Worker threads; 0 uses every core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Exit with status 2 if any line is rejected.
    #[arg(long)]
    pub strict: bool,

    /// How many rejected lines to print on stderr (all are counted).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show_rejects: usize,

    /// Do not neutralise spreadsheet formulas (=, +, -, @) at the start of CSV cells.
    #[arg(long)]
    pub raw_csv: bool,

    /// How to reach S3 for `s3://` inputs.
    #[cfg(feature = "s3")]
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

    /// How many S3 objects are downloaded at once (each streams through a small
    /// bounded buffer, so memory stays flat whatever the object sizes).
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub s3_concurrency: u16,
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

    /// The name as typed on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::D1 => "1d",
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
