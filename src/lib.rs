//! vpce-audit: prove from S3 server access logs that traffic to a bucket came through
//! a gateway VPC endpoint (a private source IP), not over the public internet.
//!
//! The data flows [`input`] (files, folders, stdin, S3 objects; decompression; lines)
//! → [`parse`] ([`record`]) → [`classify`] → [`filter`] → [`aggregate`], driven by
//! [`pipeline`] under the run's [`settings`] and accounted for in a [`tally`]; the
//! wings read what it yields: [`report`] renders it, [`check`] judges requests against
//! compliance rules, [`athena`] writes the same audit as SQL and reads its results
//! back. [`app`] runs the command line that [`cli`] defines and [`config`] validates.
//!
//! Modules are declared below from the top layer down: each imports only modules
//! declared after it, so no import points up and none closes a cycle. [`arn`],
//! [`escape`], [`ipranges`], [`time`] and [`synth`] are leaves any layer may use.

pub mod app;
pub(crate) mod config;

pub(crate) mod cli;

pub(crate) mod athena;
pub mod report;

pub mod check;

pub mod pipeline;

pub mod join;

pub mod aggregate;
pub mod settings;

pub mod classify;
pub mod filter;

pub mod tally;

pub mod input;

pub(crate) mod arn;
pub mod cloudtrail;
pub mod parse;

pub mod record;

pub(crate) mod escape;
pub mod ipranges;
pub mod synth;
pub mod time;
