//! `s3://bucket/prefix` inputs: log objects read straight from the log bucket with the
//! AWS SDK (cargo feature `s3`, on by default).
//!
//! The rest of the program stays synchronous: a [`Session`] owns a small tokio runtime
//! and the S3 client. A [`Listing`] runs on it and hands out its objects in order while
//! it goes on ([`list`]); each becomes an [`Object`] input whose download starts ahead
//! of the reader ([`fetch`]), as many at once as the [`limit`] allows within a memory
//! budget, and whose bytes stream into the same decode → parse → classify → aggregate
//! pipeline as a file. Credentials come from the SDK's standard chain.

mod error;
mod fetch;
mod limit;
mod list;
mod pages;
mod progress;

use std::collections::HashSet;
use std::fmt;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use tokio::runtime::Runtime;

use super::S3Counts;

pub use error::{Error, ErrorKind};
pub use fetch::BUDGET;
pub use limit::{Controller, MAX as MAX_CONCURRENCY, START as START_CONCURRENCY};
pub use list::{key_time, Scope, MARGIN};

use error::{from_sdk, Action};
use fetch::{Body, Fetcher, Wanted};
use limit::{Limiter, Throttles};
use list::{Keys, Limits, S3Pages, Start};
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
    /// `--s3-concurrency`: requests in flight, fixed; `None`: adaptive.
    pub concurrency: Option<usize>,
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
    fn add_listed(&self, listed: u64, skipped: u64) {
        self.listed.fetch_add(listed, Ordering::Relaxed);
        self.skipped.fetch_add(skipped, Ordering::Relaxed);
    }

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
    limiter: Arc<Limiter>,
    fetcher: Fetcher,
    progress: Progress,
    counters: Arc<ObjectCounts>,
    /// The next object's place in reading order.
    next_id: AtomicU64,
    /// With several listings, the objects handed out so far, so that one listed twice
    /// (overlapping prefixes) is read once; and those left out.
    seen: Mutex<Option<HashSet<Arc<str>>>>,
    duplicates: Mutex<Vec<String>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("limiter", &self.limiter)
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
        let limiter = Arc::new(Limiter::new(options.concurrency));
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(options.force_path_style || options.endpoint_url.is_some())
            .interceptor(Throttles(Arc::clone(&limiter)));
        if shared.region().is_none() {
            config = config.region(Region::from_static(DEFAULT_REGION));
        }
        let client = Client::from_conf(config.build());
        let progress = Progress::on_stderr();
        let counters = Arc::<ObjectCounts>::default();
        Ok(Arc::new(Session {
            fetcher: Fetcher::new(
                client.clone(),
                runtime.handle().clone(),
                Arc::clone(&limiter),
                progress.clone(),
                Arc::clone(&counters),
            ),
            runtime: Some(runtime),
            client,
            limiter,
            progress,
            counters,
            next_id: AtomicU64::new(0),
            seen: Mutex::new(None),
            duplicates: Mutex::new(Vec::new()),
        }))
    }

    fn runtime(&self) -> &Runtime {
        self.runtime
            .as_ref()
            .expect("the runtime lives as long as the session")
    }

    /// Starts listing the log objects at `location` that `scope` keeps; `url` is the
    /// input as given, for messages. The first request goes out now.
    pub fn list(self: &Arc<Self>, url: &str, location: &Location, scope: &Scope) -> Listing {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let keys = Keys::start(Start {
            pages: Arc::new(S3Pages {
                client: self.client.clone(),
                bucket: location.bucket.clone(),
            }),
            runtime: self.runtime().handle().clone(),
            prefix: location.prefix.clone(),
            scope: scope.clone(),
            now,
            limits: Limits {
                requests: self.limiter.most().min(Limits::default().requests),
                ..Limits::default()
            },
            progress: self.progress.clone(),
            counters: Arc::clone(&self.counters),
        });
        Listing {
            inner: Arc::new(ListingInner {
                session: Arc::clone(self),
                keys,
                bucket: Arc::from(location.bucket.as_str()),
                url: url.to_string(),
            }),
        }
    }

    /// Reads every object once across this session's listings (overlapping prefixes):
    /// from now on each object handed out is remembered, about 100 bytes each.
    pub fn read_objects_once(&self) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashSet::new);
    }

    /// The URLs of the objects a listing gave again and that were left out.
    pub fn duplicates(&self) -> Vec<String> {
        self.duplicates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Is this object new to the session (always, unless [`Session::read_objects_once`])?
    fn first_time(&self, bucket: &str, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(seen) = seen.as_mut() else {
            return true;
        };
        let url: Arc<str> = Arc::from(format!("s3://{bucket}/{key}"));
        if seen.insert(url.clone()) {
            return true;
        }
        self.duplicates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(url.to_string());
        false
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

/// The objects of one `s3://` input, handed out in listing order as the listing goes
/// on. It can be read through once.
#[derive(Clone)]
pub struct Listing {
    inner: Arc<ListingInner>,
}

struct ListingInner {
    session: Arc<Session>,
    keys: Keys,
    bucket: Arc<str>,
    url: String,
}

impl Listing {
    /// The input as given on the command line.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The next object: `None` at the end or, with `wait` false, when none has arrived
    /// yet. An error ends the listing.
    pub fn next(&self, wait: bool) -> Option<Result<Object, Error>> {
        let inner = &self.inner;
        let listed = loop {
            match inner.keys.next(wait)? {
                Ok(listed) if inner.session.first_time(&inner.bucket, &listed.key) => break listed,
                Ok(_) => continue,
                Err(e) => return Some(Err(e)),
            }
        };
        Some(Ok(Object {
            session: Arc::clone(&inner.session),
            id: inner.session.next_id.fetch_add(1, Ordering::Relaxed),
            bucket: inner.bucket.clone(),
            key: Arc::from(listed.key),
            size: listed.size,
            etag: listed.etag,
        }))
    }
}

impl fmt::Debug for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listing of {}", self.inner.url)
    }
}

impl PartialEq for Listing {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Listing {}

/// One listed log object, read as an input.
#[derive(Clone)]
pub struct Object {
    session: Arc<Session>,
    id: u64,
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

    fn wanted(&self) -> Wanted {
        Wanted {
            id: self.id,
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            size: self.size,
        }
    }

    /// Says this object will be opened after those announced before it, so that its
    /// download can start ahead.
    pub fn prefetch(&self) {
        self.session.fetcher.want(self.wanted());
    }

    /// Starts (or takes over) the download and returns its bytes as they arrive.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, Error> {
        let fetcher = &self.session.fetcher;
        let download = fetcher.claim(self.wanted());
        Ok(Box::new(Body::new(fetcher, download)))
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url())
    }
}

impl PartialEq for Object {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.session, &other.session) && self.id == other.id
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
