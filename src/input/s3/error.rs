//! S3 failures in words a person can act on: which bucket or key, which permission is
//! missing, whether the credentials are absent, wrong or expired.

use std::error::Error as StdError;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What kind of failure an [`Error`] is, for callers that react differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not an `s3://bucket/prefix` URL.
    Url,
    /// No credentials, or credentials S3 does not accept (unknown, wrong, expired).
    Credentials,
    /// The credentials lack a permission.
    AccessDenied,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The key does not exist (any more).
    NoSuchKey,
    /// The bucket is in another region than the one asked.
    WrongRegion,
    /// S3 kept throttling after the SDK's retries.
    Throttled,
    /// A request or a connection timed out.
    Timeout,
    /// S3 could not be reached or the connection broke.
    Network,
    /// Anything else S3 or the SDK reported.
    Other,
}

/// A failed S3 operation, with a message that names what failed and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

/// The operation that failed, for naming the resource and the permission it needs.
#[derive(Clone, Copy, Debug)]
pub(super) enum Action<'a> {
    /// ListObjectsV2 on a bucket.
    List(&'a str),
    /// GetObject of a key.
    Get(&'a str, &'a str),
    /// GetBucketPolicy of a bucket.
    Policy(&'a str),
}

impl Action<'_> {
    fn permission(self) -> &'static str {
        match self {
            Action::List(_) => "s3:ListBucket",
            Action::Get(..) => "s3:GetObject",
            Action::Policy(_) => "s3:GetBucketPolicy",
        }
    }

    fn arn(self) -> String {
        match self {
            Action::List(b) | Action::Policy(b) => format!("arn:aws:s3:::{b}"),
            Action::Get(b, k) => format!("arn:aws:s3:::{b}/{k}"),
        }
    }

    fn bucket_name(self) -> String {
        match self {
            Action::List(b) | Action::Policy(b) | Action::Get(b, _) => b.to_string(),
        }
    }
}

/// Describes a failed SDK call made for `action`.
pub(super) fn from_sdk<E>(action: Action<'_>, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let said = err.message().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let region = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_string);
    match &err {
        SdkError::ServiceError(_) => service(action, &code, &said, status, region),
        SdkError::TimeoutError(_) => Error::new(
            ErrorKind::Timeout,
            "S3 did not answer in time (timeout); check the network or --endpoint-url",
        ),
        SdkError::DispatchFailure(d) if d.is_timeout() => Error::new(
            ErrorKind::Timeout,
            format!("timed out connecting to S3: {}", chain(&err)),
        ),
        SdkError::DispatchFailure(d) if d.is_io() => Error::new(
            ErrorKind::Network,
            format!("could not reach S3: {}", chain(&err)),
        ),
        _ => unhandled(chain(&err)),
    }
}

/// Describes a failure while streaming a body.
pub(super) fn from_body(bucket: &str, key: &str, err: &dyn StdError) -> Error {
    let text = chain(err);
    let kind = if text.contains("timeout") || text.contains("timed out") {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    Error::new(
        kind,
        format!("download of s3://{bucket}/{key} broke off: {text}"),
    )
}

fn service(
    action: Action<'_>,
    code: &str,
    said: &str,
    status: Option<u16>,
    region: Option<String>,
) -> Error {
    let detail = if said.is_empty() {
        String::new()
    } else {
        format!(" (S3: {code}: {said})")
    };
    let bucket = action.bucket_name();
    match code {
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" => Error::new(
            ErrorKind::AccessDenied,
            format!(
                "access denied: these credentials need {} on {}{detail}",
                action.permission(),
                action.arn()
            ),
        ),
        "NoSuchBucket" => Error::new(
            ErrorKind::NoSuchBucket,
            format!("bucket {bucket} does not exist"),
        ),
        "NoSuchKey" => Error::new(
            ErrorKind::NoSuchKey,
            format!(
                "{} does not exist (deleted after it was listed?)",
                action.arn()
            ),
        ),
        "InvalidAccessKeyId" => Error::new(
            ErrorKind::Credentials,
            format!(
                "S3 does not know the access key ID of these credentials; check --profile, \
                 AWS_PROFILE or AWS_ACCESS_KEY_ID{detail}"
            ),
        ),
        "SignatureDoesNotMatch" => Error::new(
            ErrorKind::Credentials,
            format!(
                "the request signature does not match: the secret access key is wrong for \
                 this access key ID; check --profile or AWS_SECRET_ACCESS_KEY{detail}"
            ),
        ),
        "ExpiredToken" | "TokenRefreshRequired" | "InvalidToken" => Error::new(
            ErrorKind::Credentials,
            format!(
                "the session token of these credentials has expired or is invalid; refresh \
                 them (e.g. `aws sso login`) and run again{detail}"
            ),
        ),
        "RequestTimeTooSkewed" => Error::new(
            ErrorKind::Credentials,
            format!("this computer's clock is too far off for S3 to accept a signature{detail}"),
        ),
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException" => {
            let hint = match region {
                Some(r) => format!("pass --region {r}"),
                None => "pass its --region".to_string(),
            };
            Error::new(
                ErrorKind::WrongRegion,
                format!("bucket {bucket} is in another region: {hint}{detail}"),
            )
        }
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "ServiceUnavailable" => Error::new(
            ErrorKind::Throttled,
            format!(
                "S3 kept throttling the requests after retries with backoff; try again or \
                 lower --s3-concurrency{detail}"
            ),
        ),
        _ => by_status(action, code, said, &detail, status, region),
    }
}

/// An error without a code this module knows, told by its HTTP status.
fn by_status(
    action: Action<'_>,
    code: &str,
    said: &str,
    detail: &str,
    status: Option<u16>,
    region: Option<String>,
) -> Error {
    let bucket = action.bucket_name();
    match status {
        Some(403) => Error::new(
            ErrorKind::AccessDenied,
            format!(
                "access denied (HTTP 403): these credentials need {} on {}{detail}",
                action.permission(),
                action.arn()
            ),
        ),
        Some(404) if matches!(action, Action::Get(..)) => Error::new(
            ErrorKind::NoSuchKey,
            format!("{} does not exist (HTTP 404)", action.arn()),
        ),
        Some(404) => Error::new(
            ErrorKind::NoSuchBucket,
            format!("bucket {bucket} does not exist (HTTP 404)"),
        ),
        Some(301) => Error::new(
            ErrorKind::WrongRegion,
            format!(
                "bucket {bucket} is in another region: pass {}",
                region.map_or("its --region".to_string(), |r| format!("--region {r}"))
            ),
        ),
        Some(s) if code.is_empty() => Error::new(ErrorKind::Other, format!("S3 answered HTTP {s}")),
        _ => Error::new(ErrorKind::Other, format!("S3 error {code}: {said}")),
    }
}

/// Errors that come from the SDK rather than from S3, above all credentials that
/// could not be found or refreshed.
fn unhandled(text: String) -> Error {
    let lower = text.to_ascii_lowercase();
    if lower.contains("credential") || lower.contains("no providers in chain") {
        let hint = if lower.contains("expired") || lower.contains("sso") {
            "the credentials could not be refreshed (an expired SSO session? run `aws sso login`)"
        } else {
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, pass \
             --profile, or run `aws sso login` or `aws configure`"
        };
        return Error::new(ErrorKind::Credentials, format!("{hint} ({text})"));
    }
    if lower.contains("timeout") || lower.contains("timed out") {
        return Error::new(ErrorKind::Timeout, format!("S3 timed out: {text}"));
    }
    Error::new(ErrorKind::Other, text)
}

/// An error and all its causes on one line, without repeats.
fn chain(err: &dyn StdError) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts
        .join(": ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_denied_names_the_permission_and_resource() {
        let e = service(
            Action::Get("logs", "a/b"),
            "AccessDenied",
            "Access Denied",
            Some(403),
            None,
        );
        assert_eq!(e.kind(), ErrorKind::AccessDenied);
        assert!(e
            .to_string()
            .contains("need s3:GetObject on arn:aws:s3:::logs/a/b"));
        let e = service(Action::List("logs"), "", "", Some(403), None);
        assert!(e
            .to_string()
            .contains("need s3:ListBucket on arn:aws:s3:::logs"));
    }

    #[test]
    fn wrong_region_says_which_region() {
        let e = service(
            Action::List("logs"),
            "PermanentRedirect",
            "",
            Some(301),
            Some("eu-west-1".into()),
        );
        assert_eq!(e.kind(), ErrorKind::WrongRegion);
        assert!(e.to_string().contains("pass --region eu-west-1"));
    }

    #[test]
    fn expired_tokens_and_throttling_say_what_to_do() {
        let e = service(
            Action::List("logs"),
            "ExpiredToken",
            "The provided token has expired.",
            Some(400),
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert!(e.to_string().contains("aws sso login"));
        let e = service(
            Action::Get("logs", "k"),
            "SlowDown",
            "Please reduce your request rate.",
            Some(503),
            None,
        );
        assert_eq!(e.kind(), ErrorKind::Throttled);
        assert!(e.to_string().contains("--s3-concurrency"));
    }

    #[test]
    fn causes_are_joined_on_one_line() {
        let inner = std::io::Error::other("no credentials found in chain.\n  Environment: not set");
        let outer = Error::new(ErrorKind::Other, "dispatch failure");
        #[derive(Debug)]
        struct Wrap(Error, std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
        impl StdError for Wrap {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.1)
            }
        }
        assert_eq!(
            chain(&Wrap(outer, inner)),
            "dispatch failure: no credentials found in chain. Environment: not set"
        );
    }

    #[test]
    fn missing_credentials_are_explained() {
        let e = unhandled("failed to construct request: no credentials in the chain".into());
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert!(e.to_string().starts_with("no AWS credentials found"));
    }
}
