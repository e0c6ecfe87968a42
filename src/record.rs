//! One S3 server access log record, borrowed from the line it was parsed from.
//!
//! Fields are in AWS's order. A field that the log shows as `-` is `None`; quoted
//! fields are stored without their surrounding quotes. Nothing here allocates: every
//! text field is a sub-slice of the input line. A CloudTrail event
//! ([`crate::cloudtrail`]) fills the same record from its own fields, borrowed from the
//! event, and adds what only CloudTrail knows: the VPC endpoint that carried the
//! request and the region of the S3 endpoint it was sent to.

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
    /// The VPC endpoint that carried the request (`vpce-…`): CloudTrail's
    /// `vpcEndpointId`, or an access log record joined with its CloudTrail event.
    /// Access logs alone never name it.
    pub vpc_endpoint_id: Option<&'a [u8]>,
    /// The account that owns that endpoint (`vpcEndpointAccountId`).
    pub vpc_endpoint_account: Option<&'a [u8]>,
    /// The region of the S3 endpoint the request was sent to, that is the bucket's
    /// (CloudTrail's `awsRegion`).
    pub region: Option<&'a [u8]>,
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

/// The text fields of a record, for [`OwnedRecord`]: get them all, set them all.
const TEXT_FIELDS: usize = 23;

fn texts<'a>(r: &Record<'a>) -> [Option<&'a [u8]>; TEXT_FIELDS] {
    [
        r.bucket_owner,
        r.bucket,
        r.requester,
        r.request_id,
        r.operation,
        r.key,
        r.request_uri,
        r.error_code,
        r.referer,
        r.user_agent,
        r.version_id,
        r.host_id,
        r.signature_version,
        r.cipher_suite,
        r.authentication_type,
        r.host_header,
        r.tls_version,
        r.access_point_arn,
        r.acl_required,
        r.source_region,
        r.vpc_endpoint_id,
        r.vpc_endpoint_account,
        r.region,
    ]
}

fn set_texts<'a>(r: &mut Record<'a>, t: [Option<&'a [u8]>; TEXT_FIELDS]) {
    let [bucket_owner, bucket, requester, request_id, operation, key, request_uri, error_code, referer, user_agent, version_id, host_id, signature_version, cipher_suite, authentication_type, host_header, tls_version, access_point_arn, acl_required, source_region, vpc_endpoint_id, vpc_endpoint_account, region] =
        t;
    *r = Record {
        bucket_owner,
        bucket,
        requester,
        request_id,
        operation,
        key,
        request_uri,
        error_code,
        referer,
        user_agent,
        version_id,
        host_id,
        signature_version,
        cipher_suite,
        authentication_type,
        host_header,
        tls_version,
        access_point_arn,
        acl_required,
        source_region,
        vpc_endpoint_id,
        vpc_endpoint_account,
        region,
        ..*r
    };
}

/// A record that owns its text, in one allocation: for a record kept after the bytes
/// it was read from are gone (a CloudTrail event waiting for the access logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    /// The text fields one after the other.
    text: Box<[u8]>,
    /// Where each text field ends in `text`; `u32::MAX` for a missing one.
    ends: [u32; TEXT_FIELDS],
    /// The other fields, with empty text.
    rest: Record<'static>,
}

impl OwnedRecord {
    /// A copy of `r` that owns its text. Fields longer than 4 GiB together cannot be:
    /// records are at most a few MiB.
    pub fn new(r: &Record<'_>) -> Self {
        let fields = texts(r);
        let mut text = Vec::with_capacity(fields.iter().flatten().map(|f| f.len()).sum());
        let mut ends = [u32::MAX; TEXT_FIELDS];
        for (end, field) in ends.iter_mut().zip(fields) {
            if let Some(f) = field {
                text.extend_from_slice(f);
                *end = u32::try_from(text.len()).expect("a record is far below 4 GiB");
            }
        }
        let rest = Record {
            time: r.time,
            remote_ip: r.remote_ip,
            http_status: r.http_status,
            bytes_sent: r.bytes_sent,
            object_size: r.object_size,
            total_time: r.total_time,
            turn_around_time: r.turn_around_time,
            ..Record::default()
        };
        OwnedRecord {
            text: text.into_boxed_slice(),
            ends,
            rest,
        }
    }

    /// The record, borrowing from this one.
    pub fn record(&self) -> Record<'_> {
        let mut fields = [None; TEXT_FIELDS];
        let mut start = 0;
        for (field, &end) in fields.iter_mut().zip(&self.ends) {
            if end != u32::MAX {
                *field = Some(&self.text[start..end as usize]);
                start = end as usize;
            }
        }
        let mut r = self.rest.clone();
        set_texts(&mut r, fields);
        r
    }

    /// About how many bytes it takes in memory.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_record_gives_back_the_record() {
        let r = Record {
            bucket: Some(b"b"),
            time: 7,
            remote_ip: Some("10.0.0.1".parse().unwrap()),
            requester: Some(b""),
            key: Some(b"k/ey"),
            http_status: Some(403),
            bytes_sent: Some(9),
            vpc_endpoint_id: Some(b"vpce-1"),
            region: Some(b"ap-northeast-2"),
            source_region: Some(b"x"),
            ..Record::default()
        };
        let owned = OwnedRecord::new(&r);
        assert_eq!(owned.record(), r);
        assert!(owned.size() > 40);
        assert_eq!(
            OwnedRecord::new(&Record::default()).record(),
            Record::default()
        );
    }

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
