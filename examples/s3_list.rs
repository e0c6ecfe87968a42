//! Times the listing of an `s3://` location, for `benches/compare_s3.sh`: vpce-audit's
//! listing (cut into time ranges, in parallel, streamed) or one sequential
//! ListObjectsV2 paginator of the AWS SDK, against the same server. Nothing is read.
//!
//! ```text
//! s3_list vpce|paginator ENDPOINT s3://bucket/prefix
//! ```
//!
//! Prints `KEYS SECONDS FIRST_SECONDS`: the keys listed, the time to list them all and
//! the time to the first. Credentials and region come from the environment.

use std::time::Instant;

use aws_sdk_s3::config::{BehaviorVersion, Region};
use vpce_audit::input::s3::{Location, Options, Scope, Session};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, endpoint, url] = &args[..] else {
        return Err("usage: s3_list vpce|paginator ENDPOINT s3://bucket/prefix".into());
    };
    let location = Location::parse(url)?;
    let start = Instant::now();
    let mut first = None;
    let mut keys = 0u64;
    match mode.as_str() {
        "vpce" => {
            let session = Session::connect(&Options {
                endpoint_url: Some(endpoint.clone()),
                ..Options::default()
            })?;
            let listing = session.list(url, &location, &Scope::default());
            while let Some(object) = listing.next(true) {
                object?;
                first.get_or_insert_with(|| start.elapsed());
                keys += 1;
            }
        }
        "paginator" => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let shared = aws_config::defaults(BehaviorVersion::latest())
                    .endpoint_url(endpoint)
                    .region(Region::new("us-east-1"))
                    .load()
                    .await;
                let config = aws_sdk_s3::config::Builder::from(&shared)
                    .force_path_style(true)
                    .build();
                let client = aws_sdk_s3::Client::from_conf(config);
                let mut pages = client
                    .list_objects_v2()
                    .bucket(&location.bucket)
                    .prefix(&location.prefix)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page?;
                    first.get_or_insert_with(|| start.elapsed());
                    keys += page.contents().len() as u64;
                }
                Ok::<_, Box<dyn std::error::Error>>(())
            })?;
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    println!(
        "{keys} {:.3} {:.3}",
        start.elapsed().as_secs_f64(),
        first.unwrap_or_default().as_secs_f64()
    );
    Ok(())
}
