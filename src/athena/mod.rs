//! Scale-out on Amazon Athena: the same audit as SQL, for logs too big for one machine.
//!
//! The logs already live in S3, so instead of a cluster of our own, vpce-audit writes
//! what Athena (Trino) needs and reads back what it returns:
//!
//! * [`ddl`]: the `CREATE EXTERNAL TABLE` over the access logs (a RegexSerDe that
//!   follows the [`crate::parse`] grammar as far as a regular expression can, and
//!   partition projection for the date-partitioned key layout);
//! * [`sql`]: the timeline query, generated from the same [`Settings`] as the local
//!   report, in Trino's dialect for Athena and in DuckDB's for the equality test;
//! * [`results`]: Athena's CSV of that query turned back into a [`crate::report::Report`];
//! * [`cloudtrail`]: the table of CloudTrail log files, and (in [`sql`]) the
//!   per-bucket, per-endpoint breakdown of their S3 requests.
//!
//! [`Settings`]: crate::settings::Settings

pub mod cloudtrail;
pub mod ddl;
pub mod results;
pub mod sql;

use std::fmt;

use clap::ValueEnum;

/// How S3 names the log objects under the target prefix (the bucket's logging
/// configuration, "log object key format").
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// `[prefix]YYYY-mm-DD-HH-MM-SS-UniqueString`: every object in one flat prefix.
    Simple,
    /// `[prefix][SourceAccountId]/[SourceRegion]/[SourceBucket]/YYYY/MM/DD/…`.
    Partitioned,
}

/// The table the logs are read through: `database.table` and its key layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    database: String,
    name: String,
    /// How the log objects are laid out, which decides the partition columns.
    pub layout: Layout,
}

/// Partition columns of the [`Layout::Partitioned`] table, in key order.
pub const PARTITION_COLUMNS: [&str; 4] = ["source_account", "source_region", "source_bucket", "dt"];

/// What is wrong with a table name, a location or an Athena result file.
#[derive(Debug, thiserror::Error)]
pub enum AthenaError {
    /// A database or table name Athena would not accept as is.
    #[error("{what} {name:?}: use lowercase letters, digits and underscores (Athena folds case and rejects the rest)")]
    Identifier { what: &'static str, name: String },
    /// A `--location` that is not an `s3://` prefix.
    #[error("--location {0:?}: expected s3://bucket/prefix/ without spaces, quotes or '${{'")]
    Location(String),
    /// The partitioned layout needs the values of its partition columns.
    #[error("--layout partitioned needs {0}")]
    Partition(&'static str),
    /// A date of the projection range.
    #[error("{flag} {value:?}: expected a date like 2024-03-01{now}")]
    Date {
        flag: &'static str,
        value: String,
        now: &'static str,
    },
    /// The CSV could not be read (said once: the CSV error is not also a source).
    #[error("reading Athena results: {0}")]
    Csv(::csv::Error),
    /// The CSV is not what `vpce-audit athena query` produces.
    #[error("Athena results, {at}: {problem}")]
    Results { at: Position, problem: String },
}

impl From<::csv::Error> for AthenaError {
    fn from(e: ::csv::Error) -> Self {
        AthenaError::Csv(e)
    }
}

/// Where in a result file a problem is: a 1-based line, or the file as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Line(u64),
    File,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "line {n}"),
            Position::File => f.write_str("whole file"),
        }
    }
}

impl Table {
    /// A table reference, refusing names that would need quoting rules to survive.
    pub fn new(database: &str, name: &str, layout: Layout) -> Result<Table, AthenaError> {
        Ok(Table {
            database: identifier("--database", database)?,
            name: identifier("--table", name)?,
            layout,
        })
    }

    /// `"database"."table"` for Trino and DuckDB.
    pub fn quoted(&self) -> String {
        format!("\"{}\".\"{}\"", self.database, self.name)
    }

    /// `` `database`.`table` `` for Hive DDL.
    pub fn backticked(&self) -> String {
        format!("`{}`.`{}`", self.database, self.name)
    }
}

fn identifier(what: &'static str, name: &str) -> Result<String, AthenaError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(name.to_string())
    } else {
        Err(AthenaError::Identifier {
            what,
            name: name.to_string(),
        })
    }
}

/// A string literal for SQL (Trino, DuckDB): single quotes doubled.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_athena_would_change_are_refused() {
        assert!(Table::new("audit", "s3_access_logs", Layout::Simple).is_ok());
        for bad in ["", "Logs", "a-b", "a.b", "a\"b", "x y"] {
            assert!(Table::new("db", bad, Layout::Simple).is_err(), "{bad:?}");
            assert!(Table::new(bad, "t", Layout::Simple).is_err(), "{bad:?}");
        }
        let t = Table::new("audit", "logs", Layout::Simple).unwrap();
        assert_eq!(t.quoted(), "\"audit\".\"logs\"");
        assert_eq!(t.backticked(), "`audit`.`logs`");
    }

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
        assert_eq!(literal(""), "''");
    }
}
