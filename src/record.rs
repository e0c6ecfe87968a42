//! One S3 server access log record, borrowed from the line it was parsed from.
//!
//! Fields are in AWS's order. A field that the log shows as `-` is `None`; quoted
//! fields are stored without their surrounding quotes. Nothing here allocates: every
//! text field is a sub-slice of the input line.

use std::fmt;
use std::net::IpAddr;

/// The fields of an S3 server access log record, in the order AWS writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    BucketOwner,
    Bucket,
    Time,
    RemoteIp,
    Requester,
    RequestId,
    Operation,
    Key,
    RequestUri,
    HttpStatus,
    ErrorCode,
    BytesSent,
    ObjectSize,
    TotalTime,
    TurnAroundTime,
    Referer,
    UserAgent,
    VersionId,
    HostId,
    SignatureVersion,
    CipherSuite,
    AuthenticationType,
    HostHeader,
    TlsVersion,
    AccessPointArn,
    AclRequired,
    SourceRegion,
}

impl Field {
    /// Every field in log order.
    pub const ALL: [Field; 27] = [
        Field::BucketOwner,
        Field::Bucket,
        Field::Time,
        Field::RemoteIp,
        Field::Requester,
        Field::RequestId,
        Field::Operation,
        Field::Key,
        Field::RequestUri,
        Field::HttpStatus,
        Field::ErrorCode,
        Field::BytesSent,
        Field::ObjectSize,
        Field::TotalTime,
        Field::TurnAroundTime,
        Field::Referer,
        Field::UserAgent,
        Field::VersionId,
        Field::HostId,
        Field::SignatureVersion,
        Field::CipherSuite,
        Field::AuthenticationType,
        Field::HostHeader,
        Field::TlsVersion,
        Field::AccessPointArn,
        Field::AclRequired,
        Field::SourceRegion,
    ];

    /// The oldest records end after the user agent: field 17.
    pub const REQUIRED: usize = 17;

    /// The snake_case name used as JSON key and CSV header.
    pub fn key(self) -> &'static str {
        match self {
            Field::BucketOwner => "bucket_owner",
            Field::Bucket => "bucket",
            Field::Time => "time",
            Field::RemoteIp => "remote_ip",
            Field::Requester => "requester",
            Field::RequestId => "request_id",
            Field::Operation => "operation",
            Field::Key => "key",
            Field::RequestUri => "request_uri",
            Field::HttpStatus => "http_status",
            Field::ErrorCode => "error_code",
            Field::BytesSent => "bytes_sent",
            Field::ObjectSize => "object_size",
            Field::TotalTime => "total_time",
            Field::TurnAroundTime => "turn_around_time",
            Field::Referer => "referer",
            Field::UserAgent => "user_agent",
            Field::VersionId => "version_id",
            Field::HostId => "host_id",
            Field::SignatureVersion => "signature_version",
            Field::CipherSuite => "cipher_suite",
            Field::AuthenticationType => "authentication_type",
            Field::HostHeader => "host_header",
            Field::TlsVersion => "tls_version",
            Field::AccessPointArn => "access_point_arn",
            Field::AclRequired => "acl_required",
            Field::SourceRegion => "source_region",
        }
    }

    /// The name AWS's documentation gives the field, for error messages.
    pub fn title(self) -> &'static str {
        match self {
            Field::BucketOwner => "bucket owner",
            Field::Bucket => "bucket",
            Field::Time => "time",
            Field::RemoteIp => "remote IP",
            Field::Requester => "requester",
            Field::RequestId => "request ID",
            Field::Operation => "operation",
            Field::Key => "key",
            Field::RequestUri => "request-URI",
            Field::HttpStatus => "HTTP status",
            Field::ErrorCode => "error code",
            Field::BytesSent => "bytes sent",
            Field::ObjectSize => "object size",
            Field::TotalTime => "total time",
            Field::TurnAroundTime => "turn-around time",
            Field::Referer => "referer",
            Field::UserAgent => "user-agent",
            Field::VersionId => "version ID",
            Field::HostId => "host ID",
            Field::SignatureVersion => "signature version",
            Field::CipherSuite => "cipher suite",
            Field::AuthenticationType => "authentication type",
            Field::HostHeader => "host header",
            Field::TlsVersion => "TLS version",
            Field::AccessPointArn => "access point ARN",
            Field::AclRequired => "aclRequired",
            Field::SourceRegion => "source region",
        }
    }

    /// 1-based position in the record.
    pub fn number(self) -> usize {
        self as usize + 1
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// A parsed record. Text fields borrow from the line; `None` means the log had `-`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record<'a> {
    pub bucket_owner: Option<&'a [u8]>,
    pub bucket: Option<&'a [u8]>,
    /// Request time in seconds since the Unix epoch, converted to UTC.
    pub time: i64,
    pub remote_ip: Option<IpAddr>,
    pub requester: Option<&'a [u8]>,
    pub request_id: Option<&'a [u8]>,
    pub operation: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub request_uri: Option<&'a [u8]>,
    pub http_status: Option<u16>,
    pub error_code: Option<&'a [u8]>,
    pub bytes_sent: Option<u64>,
    pub object_size: Option<u64>,
    pub total_time: Option<u64>,
    pub turn_around_time: Option<u64>,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
    pub version_id: Option<&'a [u8]>,
    pub host_id: Option<&'a [u8]>,
    pub signature_version: Option<&'a [u8]>,
    pub cipher_suite: Option<&'a [u8]>,
    pub authentication_type: Option<&'a [u8]>,
    pub host_header: Option<&'a [u8]>,
    pub tls_version: Option<&'a [u8]>,
    pub access_point_arn: Option<&'a [u8]>,
    pub acl_required: Option<&'a [u8]>,
    pub source_region: Option<&'a [u8]>,
}

/// A field's value, for writers that walk every field generically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Missing,
    Text(&'a [u8]),
    Number(u64),
    Time(i64),
    Ip(IpAddr),
}

impl<'a> Record<'a> {
    /// The value of one field.
    pub fn get(&self, field: Field) -> Value<'a> {
        fn text(v: Option<&[u8]>) -> Value<'_> {
            v.map_or(Value::Missing, Value::Text)
        }
        fn number(v: Option<u64>) -> Value<'static> {
            v.map_or(Value::Missing, Value::Number)
        }
        match field {
            Field::BucketOwner => text(self.bucket_owner),
            Field::Bucket => text(self.bucket),
            Field::Time => Value::Time(self.time),
            Field::RemoteIp => self.remote_ip.map_or(Value::Missing, Value::Ip),
            Field::Requester => text(self.requester),
            Field::RequestId => text(self.request_id),
            Field::Operation => text(self.operation),
            Field::Key => text(self.key),
            Field::RequestUri => text(self.request_uri),
            Field::HttpStatus => number(self.http_status.map(u64::from)),
            Field::ErrorCode => text(self.error_code),
            Field::BytesSent => number(self.bytes_sent),
            Field::ObjectSize => number(self.object_size),
            Field::TotalTime => number(self.total_time),
            Field::TurnAroundTime => number(self.turn_around_time),
            Field::Referer => text(self.referer),
            Field::UserAgent => text(self.user_agent),
            Field::VersionId => text(self.version_id),
            Field::HostId => text(self.host_id),
            Field::SignatureVersion => text(self.signature_version),
            Field::CipherSuite => text(self.cipher_suite),
            Field::AuthenticationType => text(self.authentication_type),
            Field::HostHeader => text(self.host_header),
            Field::TlsVersion => text(self.tls_version),
            Field::AccessPointArn => text(self.access_point_arn),
            Field::AclRequired => text(self.acl_required),
            Field::SourceRegion => text(self.source_region),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_numbered_in_log_order() {
        assert_eq!(Field::BucketOwner.number(), 1);
        assert_eq!(Field::UserAgent.number(), Field::REQUIRED);
        assert_eq!(Field::SourceRegion.number(), 27);
        for (i, f) in Field::ALL.iter().enumerate() {
            assert_eq!(f.number(), i + 1);
        }
    }
}
