//! `s3://bucket/prefix` inputs: log objects read straight from the log bucket with the
//! AWS SDK (cargo feature `s3`, on by default).
//!
//! The rest of the program stays synchronous: a [`Session`] owns a small tokio runtime
//! and the S3 client; listing blocks on it, and every object becomes an [`Object`] input
//! whose bytes stream into the same decode → parse → classify → aggregate pipeline as a
//! file, through a bounded buffer. Credentials come from the SDK's standard chain.

mod error;
mod fetch;
mod list;
mod progress;

use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use tokio::runtime::Runtime;

use super::S3Counts;

pub use error::{Error, ErrorKind};
pub use list::{key_time, Scope, MARGIN};

use error::{from_sdk, Action};
use fetch::{Body, Fetcher};
use list::Lister;
use progress::Progress;

/// The region used when neither `--region`, the environment nor the profile name one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Attempts per request, with exponential backoff between them (throttling included).
pub const MAX_ATTEMPTS: u32 = 5;
/// How long to wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one attempt may wait for S3's answer (a body then streams without limit
/// as long as bytes keep arriving: the SDK's stalled-stream protection ends a download
/// that stops moving).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach S3: the AWS CLI's flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--profile`: a named profile instead of `$AWS_PROFILE` / `default`.
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--endpoint-url`: an S3-compatible store instead of AWS.
    pub endpoint_url: Option<String>,
    /// `--force-path-style`; implied by an endpoint URL.
    pub force_path_style: bool,
    /// `--s3-concurrency`: downloads and day listings at once.
    pub concurrency: usize,
}

/// A parsed `s3://bucket/prefix` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The bucket name.
    pub bucket: String,
    /// The key prefix, possibly empty.
    pub prefix: String,
}

impl Location {
    /// Parses `s3://bucket`, `s3://bucket/` or `s3://bucket/prefix`.
    pub fn parse(url: &str) -> Result<Location, Error> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| Error::new(ErrorKind::Url, "an S3 location starts with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::new(
                ErrorKind::Url,
                "no bucket name: expected s3://bucket or s3://bucket/prefix",
            ));
        }
        Ok(Location {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Run-wide counts of listed, skipped and read objects.
#[derive(Debug, Default)]
pub(crate) struct ObjectCounts {
    listed: AtomicU64,
    skipped: AtomicU64,
    read: AtomicU64,
    bytes: AtomicU64,
}

impl ObjectCounts {
    fn add_read(&self) {
        self.read.fetch_add(1, Ordering::Relaxed);
    }

    fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

/// A connection to S3: the client, the runtime it runs on, and the downloads.
pub struct Session {
    runtime: Option<Runtime>,
    client: Client,
    concurrency: usize,
    fetcher: Fetcher,
    progress: Progress,
    counters: Arc<ObjectCounts>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Builds the client from the standard credential chain and `options`. Nothing is
    /// sent yet; credentials are resolved by the first request.
    pub fn connect(options: &Options) -> Result<Arc<Session>, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vpce-audit-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Other, format!("starting the S3 runtime: {e}")))?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let shared = runtime.block_on(loader.load());
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(options.force_path_style || options.endpoint_url.is_some());
        if shared.region().is_none() {
            config = config.region(Region::from_static(DEFAULT_REGION));
        }
        let client = Client::from_conf(config.build());
        let concurrency = options.concurrency.max(1);
        Ok(Arc::new(Session {
            runtime: Some(runtime),
            fetcher: Fetcher::new(client.clone(), concurrency),
            client,
            concurrency,
            progress: Progress::on_stderr(),
            counters: Arc::default(),
        }))
    }

    fn runtime(&self) -> &Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the session")
    }

    /// Lists the log objects at `location` that `scope` keeps, in key order, ready to
    /// be read as inputs.
    pub fn list(
        self: &Arc<Self>,
        location: &Location,
        scope: &Scope,
    ) -> Result<Vec<Object>, Error> {
        let lister = Lister::new(
            &self.client,
            &location.bucket,
            scope,
            self.concurrency,
            &self.progress,
        );
        let listing = match self.runtime().block_on(lister.run(&location.prefix)) {
            Ok(listing) => listing,
            Err(e) => {
                self.progress.to_read(0, 0);
                return Err(e);
            }
        };
        self.counters
            .listed
            .fetch_add(listing.listed, Ordering::Relaxed);
        self.counters
            .skipped
            .fetch_add(listing.skipped, Ordering::Relaxed);
        let bytes = listing.objects.iter().map(|o| o.size).sum();
        self.progress.to_read(listing.objects.len() as u64, bytes);
        let bucket: Arc<str> = Arc::from(location.bucket.as_str());
        Ok(listing
            .objects
            .into_iter()
            .map(|o| {
                let key: Arc<str> = Arc::from(o.key);
                Object {
                    index: self.fetcher.add(bucket.clone(), key.clone()),
                    session: Arc::clone(self),
                    bucket: bucket.clone(),
                    key,
                    size: o.size,
                    etag: o.etag,
                }
            })
            .collect())
    }

    /// The bucket's policy document (JSON) from GetBucketPolicy, or `None` if the
    /// bucket has none. Needs `s3:GetBucketPolicy` on the bucket.
    pub fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, Error> {
        let request = self.client.get_bucket_policy().bucket(bucket).send();
        match self.runtime().block_on(request) {
            Ok(out) => Ok(out.policy().map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
                    == Some("NoSuchBucketPolicy") =>
            {
                Ok(None)
            }
            Err(e) => Err(from_sdk(Action::Policy(bucket), e)),
        }
    }

    /// Objects listed, skipped and read so far.
    pub fn counts(&self) -> S3Counts {
        S3Counts {
            objects_listed: self.counters.listed.load(Ordering::Relaxed),
            objects_skipped: self.counters.skipped.load(Ordering::Relaxed),
            objects_read: self.counters.read.load(Ordering::Relaxed),
            bytes_read: self.counters.bytes.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.progress.clear();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// One listed log object, read as an input.
#[derive(Clone)]
pub struct Object {
    session: Arc<Session>,
    index: usize,
    bucket: Arc<str>,
    key: Arc<str>,
    size: u64,
    etag: String,
}

impl Object {
    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The size in bytes as listed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The ETag as listed: changes when the content does.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// `s3://bucket/key`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Starts (or takes over) the download and returns its bytes as they arrive.
    /// An object can be opened once.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        let chunks = self
            .session
            .fetcher
            .claim(self.session.runtime(), self.index)?;
        Ok(Box::new(Body::new(
            chunks,
            self.session.progress.clone(),
            Arc::clone(&self.session.counters),
        )))
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.session, &other.session) && self.index == other.index
    }
}

impl Eq for Object {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            Location::parse("s3://logs/a/b/").unwrap(),
            Location {
                bucket: "logs".into(),
                prefix: "a/b/".into()
            }
        );
        assert_eq!(Location::parse("s3://logs").unwrap().prefix, "");
        assert_eq!(Location::parse("s3://logs/").unwrap().prefix, "");
        assert_eq!(
            Location::parse("s3:///x").unwrap_err().kind(),
            ErrorKind::Url
        );
        assert!(Location::parse("logs/x").is_err());
    }
}
