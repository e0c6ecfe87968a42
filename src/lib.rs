//! vpce-audit: prove from S3 server access logs that traffic to a bucket came through
//! a gateway VPC endpoint (a private source IP), not over the public internet.
//!
//! The modules follow the data flow:
//! [`source`] → [`decode`] → [`lines`] → [`parse`] ([`record`]) → [`classify`] →
//! [`filter`] → [`aggregate`] → [`report`], driven by [`pipeline`] (shown by
//! [`progress`]); [`cli`],
//! [`config`] and [`app`] are the command line around it. [`athena`] writes the same
//! audit as SQL for Amazon Athena and reads its results back. With the `s3` feature,
//! `s3` reads inputs straight from a log bucket.

pub mod app;
pub mod cli;
pub mod config;

pub mod aggregate;
pub mod athena;
pub mod classify;
pub mod decode;
pub mod filter;
pub mod lines;
pub mod parse;
pub mod pipeline;
pub mod progress;
pub mod record;
pub mod report;
#[cfg(feature = "s3")]
pub mod s3;
pub mod source;

pub mod bucket_policy;
pub mod check;
pub mod rules;
pub mod state;
pub mod wildcard;

pub mod escape;
pub mod synth;
