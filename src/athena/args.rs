//! The `vpce-audit athena` command line (clap derive) and its validation into a
//! [`Ddl`] or a [`Query`]'s inputs.
//!
//! [`Query`]: super::sql::Query

use clap::{Args, Subcommand};

use super::ddl::{Ddl, Projection};
use super::sql::Dialect;
use super::{AthenaError, Layout, Table};
use crate::cli::Interval;
use crate::cli::SelectArgs;
use crate::config;
use crate::pipeline::Settings;

const AFTER_HELP: &str = "\
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
#[command(after_help = AFTER_HELP)]
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

impl TableArgs {
    /// The validated table reference.
    pub fn table(&self) -> Result<Table, AthenaError> {
        Table::new(&self.database, &self.table, self.layout)
    }
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

impl DdlArgs {
    /// The validated DDL.
    pub fn ddl(&self) -> Result<Ddl, AthenaError> {
        let table = self.table.table()?;
        let partition_flags = !self.account.is_empty()
            || !self.region.is_empty()
            || !self.source_bucket.is_empty()
            || self.from.is_some();
        if table.layout == Layout::Simple && partition_flags {
            return Err(AthenaError::Partition(
                "to be chosen for --account, --region, --source-bucket and --from",
            ));
        }
        let projection = match (&self.from, table.layout) {
            (Some(from), Layout::Partitioned) => Some(Projection {
                accounts: self.account.clone(),
                regions: self.region.clone(),
                buckets: self.source_bucket.clone(),
                from: date("--from", from, "")?,
                to: if self.to.eq_ignore_ascii_case("now") {
                    None
                } else {
                    Some(date("--to", &self.to, " or NOW")?)
                },
            }),
            _ => None,
        };
        Ddl::new(table, &self.location, projection)
    }
}

fn date(
    flag: &'static str,
    value: &str,
    now: &'static str,
) -> Result<chrono::NaiveDate, AthenaError> {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| AthenaError::Date {
        flag,
        value: value.to_string(),
        now,
    })
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

impl QueryArgs {
    /// The same settings `vpce-audit report` builds from these flags.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        config::settings(&self.select, self.interval.seconds())
    }
}
