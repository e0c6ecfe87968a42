//! CloudTrail events: the second log format, beside the access log [`crate::parse`]r.
//!
//! One event's JSON in (as [`crate::input::events`] frames it), and out either an S3
//! request, filled into the same [`Record`] an access log line gives, a change to the
//! network path (a VPC endpoint created, modified or deleted; a bucket policy put or
//! deleted), both, or nothing (another service's event, skipped and counted). What an
//! S3 request becomes (see docs/cloudtrail.md):
//!
//! * time `eventTime`; bucket `requestParameters.bucketName`, else the
//!   `AWS::S3::Bucket` resource; operation `eventName`; requester `userIdentity.arn`,
//!   else the service in `invokedBy`, else the account;
//! * remote IP `sourceIPAddress` when it is an address; a service name
//!   (`athena.amazonaws.com`) or `AWS Internal` leaves it empty, so the request is
//!   internal, as S3's own requests are in an access log;
//! * `errorCode` `AccessDenied` and `VpceAccessDenied` (refused by the endpoint's
//!   policy) are HTTP 403; CloudTrail records no status for other requests;
//! * `vpcEndpointId`, `vpcEndpointAccountId` and `awsRegion` are kept: a request with an
//!   endpoint id came through it, whatever its address.
//!
//! An event wrapped in an EventBridge envelope (`detail-type`, `detail`) is unwrapped.
//! Fields are borrowed from the event's bytes where they have no escapes. A field of
//! the wrong type rejects the event with its name.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::record::Record;

/// The event source of S3's events.
pub const S3_SOURCE: &str = "s3.amazonaws.com";

/// Management events that change the path from a VPC to its buckets, with the service
/// that records them.
pub const CHANGES: [(&str, &str); 5] = [
    ("ec2.amazonaws.com", "CreateVpcEndpoint"),
    ("ec2.amazonaws.com", "ModifyVpcEndpoint"),
    ("ec2.amazonaws.com", "DeleteVpcEndpoints"),
    (S3_SOURCE, "PutBucketPolicy"),
    (S3_SOURCE, "DeleteBucketPolicy"),
];

/// Why an event could not be read, for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError(pub String);

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EventError {}

fn fail<T>(message: impl Into<String>) -> Result<T, EventError> {
    Err(EventError(message.into()))
}

/// A change to the network path, from a management event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// When it happened, seconds since the epoch.
    #[serde(skip)]
    pub epoch: i64,
    /// The event's name, e.g. `DeleteVpcEndpoints`.
    pub event: String,
    /// The endpoints it names (`vpce-…`), for endpoint events.
    pub endpoints: Vec<String>,
    /// The bucket, for bucket policy events.
    pub bucket: Option<String>,
    /// Who made the call (`userIdentity.arn`, or the account).
    pub by: Option<String>,
    /// The error code, when the call failed (and changed nothing).
    pub error: Option<String>,
}

impl Change {
    /// Is this an endpoint going away or its routes changing: a likely cause of traffic
    /// leaving the endpoint?
    pub fn moves_traffic(&self) -> bool {
        self.error.is_none() && matches!(&*self.event, "DeleteVpcEndpoints" | "ModifyVpcEndpoint")
    }
}

/// An S3 request read from an event: the fields of its [`Record`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request<'a> {
    pub bucket: Cow<'a, str>,
    pub time: i64,
    pub remote_ip: Option<IpAddr>,
    pub requester: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
    pub operation: Option<Cow<'a, str>>,
    pub key: Option<Cow<'a, str>>,
    pub http_status: Option<u16>,
    pub error_code: Option<Cow<'a, str>>,
    pub bytes_sent: Option<u64>,
    pub user_agent: Option<Cow<'a, str>>,
    pub host_id: Option<Cow<'a, str>>,
    pub signature_version: Option<Cow<'a, str>>,
    pub cipher_suite: Option<Cow<'a, str>>,
    pub authentication_type: Option<Cow<'a, str>>,
    pub host_header: Option<Cow<'a, str>>,
    pub tls_version: Option<Cow<'a, str>>,
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    pub vpc_endpoint_account: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    /// A network activity event (`eventType: AwsVpceEvent`): the same request as its
    /// data event, if the trail logs both, which is then the one counted.
    pub network_activity: bool,
}

impl Request<'_> {
    /// The request as a record, borrowing from it.
    pub fn record(&self) -> Record<'_> {
        fn b<'r>(v: &'r Option<Cow<'_, str>>) -> Option<&'r [u8]> {
            v.as_deref().map(str::as_bytes)
        }
        Record {
            bucket: Some(self.bucket.as_bytes()),
            time: self.time,
            remote_ip: self.remote_ip,
            requester: b(&self.requester),
            request_id: b(&self.request_id),
            operation: b(&self.operation),
            key: b(&self.key),
            http_status: self.http_status,
            error_code: b(&self.error_code),
            bytes_sent: self.bytes_sent,
            user_agent: b(&self.user_agent),
            host_id: b(&self.host_id),
            signature_version: b(&self.signature_version),
            cipher_suite: b(&self.cipher_suite),
            authentication_type: b(&self.authentication_type),
            host_header: b(&self.host_header),
            tls_version: b(&self.tls_version),
            vpc_endpoint_id: b(&self.vpc_endpoint_id),
            vpc_endpoint_account: b(&self.vpc_endpoint_account),
            region: b(&self.region),
            ..Record::default()
        }
    }
}

/// What one event is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// An S3 request to a bucket (data, network activity, or bucket management event).
    pub request: Option<Request<'a>>,
    /// A change to the network path.
    pub change: Option<Change>,
}

impl Event<'_> {
    /// Neither a request nor a change: another service's event, or an S3 call on no
    /// bucket (`ListBuckets`). Skipped and counted.
    pub fn is_skipped(&self) -> bool {
        self.request.is_none() && self.change.is_none()
    }
}

/// The top-level fields read, each kept raw until its type is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw<'a> {
    #[serde(borrow)]
    event_time: Option<&'a RawValue>,
    #[serde(borrow)]
    event_source: Option<&'a RawValue>,
    #[serde(borrow)]
    event_name: Option<&'a RawValue>,
    #[serde(borrow)]
    aws_region: Option<&'a RawValue>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Option<&'a RawValue>,
    #[serde(borrow)]
    user_agent: Option<&'a RawValue>,
    #[serde(borrow)]
    error_code: Option<&'a RawValue>,
    #[serde(borrow, rename = "requestID")]
    request_id: Option<&'a RawValue>,
    #[serde(borrow)]
    user_identity: Option<&'a RawValue>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow)]
    additional_event_data: Option<&'a RawValue>,
    #[serde(borrow)]
    resources: Option<&'a RawValue>,
    #[serde(borrow)]
    tls_details: Option<&'a RawValue>,
    #[serde(borrow)]
    event_type: Option<&'a RawValue>,
    #[serde(borrow)]
    vpc_endpoint_id: Option<&'a RawValue>,
    #[serde(borrow)]
    vpc_endpoint_account_id: Option<&'a RawValue>,
    /// An EventBridge envelope's event.
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
    #[serde(borrow, rename = "detail-type")]
    detail_type: Option<&'a RawValue>,
}

/// The members read of the nested objects (`userIdentity`, `requestParameters`,
/// `additionalEventData`, `tlsDetails`, `resources[]`), kept raw until their type is
/// checked; the others are skipped without being kept.
#[derive(Default, Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    arn: Option<&'a RawValue>,
    #[serde(borrow, rename = "invokedBy")]
    invoked_by: Option<&'a RawValue>,
    #[serde(borrow, rename = "accountId")]
    account_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "bucketName")]
    bucket_name: Option<&'a RawValue>,
    #[serde(borrow)]
    key: Option<&'a RawValue>,
    #[serde(borrow, rename = "Host")]
    host: Option<&'a RawValue>,
    #[serde(borrow, rename = "bytesTransferredOut")]
    bytes_out: Option<&'a RawValue>,
    #[serde(borrow, rename = "x-amz-id-2")]
    host_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "SignatureVersion")]
    signature_version: Option<&'a RawValue>,
    #[serde(borrow, rename = "CipherSuite")]
    extra_cipher_suite: Option<&'a RawValue>,
    #[serde(borrow, rename = "AuthenticationMethod")]
    authentication_method: Option<&'a RawValue>,
    #[serde(borrow, rename = "tlsVersion")]
    tls_version: Option<&'a RawValue>,
    #[serde(borrow, rename = "cipherSuite")]
    cipher_suite: Option<&'a RawValue>,
    #[serde(borrow, rename = "clientProvidedHostHeader")]
    client_host: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow, rename = "ARN")]
    resource_arn: Option<&'a RawValue>,
}

impl<'a> Fields<'a> {
    /// The member named `key`, as CloudTrail spells it.
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        match key {
            "arn" => self.arn,
            "invokedBy" => self.invoked_by,
            "accountId" => self.account_id,
            "bucketName" => self.bucket_name,
            "key" => self.key,
            "Host" => self.host,
            "bytesTransferredOut" => self.bytes_out,
            "x-amz-id-2" => self.host_id,
            "SignatureVersion" => self.signature_version,
            "CipherSuite" => self.extra_cipher_suite,
            "AuthenticationMethod" => self.authentication_method,
            "tlsVersion" => self.tls_version,
            "cipherSuite" => self.cipher_suite,
            "clientProvidedHostHeader" => self.client_host,
            "type" => self.kind,
            "ARN" => self.resource_arn,
            _ => None,
        }
    }
}

/// What JSON value `raw` is, in words.
fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A string field; `null` and absent are `None`.
fn text<'a>(raw: Option<&'a RawValue>, name: &str) -> Result<Option<Cow<'a, str>>, EventError> {
    let Some(raw) = raw else { return Ok(None) };
    match kind(raw) {
        "null" => Ok(None),
        "a string" => match serde_json::from_str::<&'a str>(raw.get()) {
            Ok(s) => Ok(Some(Cow::Borrowed(s))),
            // Escapes: the text has to be unescaped into a string of its own.
            Err(_) => serde_json::from_str::<String>(raw.get())
                .map(|s| Some(Cow::Owned(s)))
                .or_else(|e| fail(format!("{name} is not a valid string: {e}"))),
        },
        other => fail(format!("{name} is {other}, not a string")),
    }
}

/// An object field's members; `null` and absent are empty.
fn object<'a>(raw: Option<&'a RawValue>, name: &str) -> Result<Fields<'a>, EventError> {
    let Some(raw) = raw else {
        return Ok(Fields::default());
    };
    match kind(raw) {
        "null" => Ok(Fields::default()),
        "an object" => serde_json::from_str(raw.get())
            .or_else(|e| fail(format!("{name} is not a valid object: {e}"))),
        other => fail(format!("{name} is {other}, not an object")),
    }
}

/// A byte count: an integer, or a float without a fraction as CloudTrail writes some.
fn count(raw: Option<&RawValue>, name: &str) -> Result<Option<u64>, EventError> {
    let Some(raw) = raw else { return Ok(None) };
    match kind(raw) {
        "null" => Ok(None),
        "a number" => {
            let text = raw.get();
            if let Ok(n) = text.parse::<u64>() {
                return Ok(Some(n));
            }
            match text.parse::<f64>() {
                Ok(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8e19 => Ok(Some(f as u64)),
                _ => fail(format!("{name} {text} is not a byte count")),
            }
        }
        other => fail(format!("{name} is {other}, not a number")),
    }
}

/// Reads one event (the JSON of one element of `Records`, or one line of an export).
pub fn parse_event(json: &[u8]) -> Result<Event<'_>, EventError> {
    let Some(first) = json.iter().find(|b| !b.is_ascii_whitespace()) else {
        return fail("an empty event");
    };
    if *first != b'{' {
        let what = match first {
            b'"' => "a string",
            b'[' => "an array",
            b't' | b'f' => "a boolean",
            b'n' => "null",
            _ => "a number",
        };
        return fail(format!("the event is {what}, not an object"));
    }
    let raw: Raw<'_> = serde_json::from_slice(json).or_else(|e| fail(json_problem(&e)))?;
    if raw.event_source.is_none() && raw.detail_type.is_some() {
        if let Some(detail) = raw.detail {
            let inner: Raw<'_> = serde_json::from_str(detail.get())
                .or_else(|e| fail(format!("detail: {}", json_problem(&e))))?;
            return event(&inner);
        }
    }
    event(&raw)
}

/// A serde error without the position inside the event, which means nothing to a
/// person looking for the event in a file.
fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(cut) => format!("not a valid event: {}", &text[..cut]),
        None => format!("not a valid event: {text}"),
    }
}

fn event<'a>(raw: &Raw<'a>) -> Result<Event<'a>, EventError> {
    let Some(source) = text(raw.event_source, "eventSource")? else {
        return fail("no eventSource: not a CloudTrail event");
    };
    let name = text(raw.event_name, "eventName")?;
    let time = || -> Result<i64, EventError> {
        match text(raw.event_time, "eventTime")? {
            Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
                .map(|t| t.timestamp())
                .or_else(|_| fail(format!("eventTime {t:?} is not an RFC 3339 time"))),
            None => fail("no eventTime"),
        }
    };
    let name_is = |n: &str| name.as_deref() == Some(n);
    let is_change = CHANGES.iter().any(|(s, n)| *s == &*source && name_is(n));
    let mut out = Event::default();
    let identity = object(raw.user_identity, "userIdentity")?;
    let requester = requester(&identity)?;
    let parameters = object(raw.request_parameters, "requestParameters")?;
    if is_change {
        let mut endpoints = Vec::new();
        for (value, what) in [
            (raw.request_parameters, "requestParameters"),
            (raw.response_elements, "responseElements"),
        ] {
            if let Some(v) = value {
                endpoint_ids(v, what, &mut endpoints)?;
            }
        }
        endpoints.sort();
        endpoints.dedup();
        let bucket = text(parameters.get("bucketName"), "requestParameters.bucketName")?;
        out.change = Some(Change {
            epoch: time()?,
            event: name.as_deref().unwrap_or_default().to_string(),
            endpoints,
            bucket: bucket.map(Cow::into_owned),
            by: requester.as_deref().map(str::to_string),
            error: text(raw.error_code, "errorCode")?.map(Cow::into_owned),
        });
    }
    if source != S3_SOURCE {
        return Ok(out);
    }
    let bucket = match text(parameters.get("bucketName"), "requestParameters.bucketName")? {
        Some(b) => Some(b),
        None => resource_bucket(raw.resources)?,
    };
    let Some(bucket) = bucket.filter(|b| !b.is_empty()) else {
        return Ok(out);
    };
    let remote_ip = match text(raw.source_ip_address, "sourceIPAddress")? {
        Some(s) => address(&s)?,
        None => return fail("no sourceIPAddress"),
    };
    let error_code = text(raw.error_code, "errorCode")?;
    let http_status = match error_code.as_deref() {
        Some("AccessDenied" | "VpceAccessDenied") => Some(403),
        _ => None,
    };
    let extra = object(raw.additional_event_data, "additionalEventData")?;
    let tls = object(raw.tls_details, "tlsDetails")?;
    let field = |fields: &Fields<'a>, key: &str, name: &str| text(fields.get(key), name);
    out.request = Some(Request {
        bucket,
        time: time()?,
        remote_ip,
        requester,
        request_id: text(raw.request_id, "requestID")?,
        operation: name,
        key: field(&parameters, "key", "requestParameters.key")?,
        http_status,
        error_code,
        bytes_sent: count(
            extra.get("bytesTransferredOut"),
            "additionalEventData.bytesTransferredOut",
        )?,
        user_agent: text(raw.user_agent, "userAgent")?,
        host_id: field(&extra, "x-amz-id-2", "additionalEventData.x-amz-id-2")?,
        signature_version: field(
            &extra,
            "SignatureVersion",
            "additionalEventData.SignatureVersion",
        )?,
        cipher_suite: match field(&tls, "cipherSuite", "tlsDetails.cipherSuite")? {
            Some(c) => Some(c),
            None => field(&extra, "CipherSuite", "additionalEventData.CipherSuite")?,
        },
        authentication_type: field(
            &extra,
            "AuthenticationMethod",
            "additionalEventData.AuthenticationMethod",
        )?,
        host_header: match field(
            &tls,
            "clientProvidedHostHeader",
            "tlsDetails.clientProvidedHostHeader",
        )? {
            Some(h) => Some(h),
            None => field(&parameters, "Host", "requestParameters.Host")?,
        },
        tls_version: field(&tls, "tlsVersion", "tlsDetails.tlsVersion")?,
        vpc_endpoint_id: endpoint_id(raw.vpc_endpoint_id)?,
        vpc_endpoint_account: text(raw.vpc_endpoint_account_id, "vpcEndpointAccountId")?,
        region: text(raw.aws_region, "awsRegion")?,
        network_activity: text(raw.event_type, "eventType")?.as_deref() == Some("AwsVpceEvent"),
    });
    Ok(out)
}

/// The requester: `userIdentity.arn`, else the service that acted (`invokedBy`), else
/// the account; `None` for an anonymous caller.
fn requester<'a>(identity: &Fields<'a>) -> Result<Option<Cow<'a, str>>, EventError> {
    for (key, name) in [
        ("arn", "userIdentity.arn"),
        ("invokedBy", "userIdentity.invokedBy"),
        ("accountId", "userIdentity.accountId"),
    ] {
        if let Some(v) = text(identity.get(key), name)?.filter(|v| !v.is_empty()) {
            if key == "accountId" && v == "ANONYMOUS_PRINCIPAL" {
                return Ok(None);
            }
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// The bucket of an `AWS::S3::Bucket` resource (`arn:aws:s3:::name`).
fn resource_bucket(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, EventError> {
    let Some(raw) = raw else { return Ok(None) };
    let resources: Vec<&RawValue> = match kind(raw) {
        "null" => return Ok(None),
        "an array" => serde_json::from_str(raw.get())
            .or_else(|e| fail(format!("resources is not a valid array: {e}")))?,
        other => return fail(format!("resources is {other}, not an array")),
    };
    for r in resources {
        let fields = object(Some(r), "resources[]")?;
        let ty = text(fields.get("type"), "resources[].type")?;
        if ty.as_deref() != Some("AWS::S3::Bucket") {
            continue;
        }
        if let Some(arn) = text(fields.get("ARN"), "resources[].ARN")? {
            let name = match arn {
                Cow::Borrowed(a) => a.rsplit(":::").next().map(Cow::Borrowed),
                Cow::Owned(a) => a.rsplit(":::").next().map(|n| Cow::Owned(n.to_string())),
            };
            return Ok(name);
        }
    }
    Ok(None)
}

/// `vpcEndpointId`: `vpce-` and letters or digits, as AWS names endpoints.
fn endpoint_id(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, EventError> {
    let id = text(raw, "vpcEndpointId")?;
    match &id {
        Some(v) if !is_endpoint_id(v) => {
            let shown: String = v.chars().take(60).collect();
            fail(format!("vpcEndpointId {shown:?} is not a VPC endpoint id"))
        }
        _ => Ok(id),
    }
}

/// Is `s` a VPC endpoint id (`vpce-0a1b2c3d4e5f60718`)?
pub fn is_endpoint_id(s: &str) -> bool {
    s.strip_prefix("vpce-")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `sourceIPAddress`: an address, or `None` for an AWS service (`athena.amazonaws.com`,
/// `AWS Internal`), which makes the request internal.
fn address(s: &str) -> Result<Option<IpAddr>, EventError> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(Some(ip));
    }
    let service = s == "AWS Internal"
        || (s.ends_with(".amazonaws.com") || s.ends_with(".amazonaws.com.cn"))
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if service {
        Ok(None)
    } else {
        let shown: String = s.chars().take(60).collect();
        fail(format!(
            "sourceIPAddress {shown:?} is neither an address nor an AWS service"
        ))
    }
}

/// Every VPC endpoint id (`vpce-…`, not an endpoint service `vpce-svc-…`) in a value.
fn endpoint_ids(raw: &RawValue, name: &str, out: &mut Vec<String>) -> Result<(), EventError> {
    let value: serde_json::Value =
        serde_json::from_str(raw.get()).or_else(|e| fail(format!("{name}: {e}")))?;
    let mut todo = vec![&value];
    while let Some(v) = todo.pop() {
        match v {
            serde_json::Value::String(s) => {
                let id = s
                    .strip_prefix("vpce-")
                    .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()));
                if id.is_some() {
                    out.push(s.clone());
                }
            }
            serde_json::Value::Array(items) => todo.extend(items),
            serde_json::Value::Object(members) => todo.extend(members.values()),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: &str) -> Request<'_> {
        parse_event(json.as_bytes()).unwrap().request.unwrap()
    }

    const DATA: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-0a1b","accountId":"111122223333"},
        "eventTime":"2022-05-09T10:12:40Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"ap-northeast-2",
        "sourceIPAddress":"10.0.12.34","userAgent":"[aws-cli/2.7.0]","requestParameters":{"bucketName":"shared-data-prod","Host":"shared-data-prod.s3.ap-northeast-2.amazonaws.com","key":"exports/a.parquet"},
        "responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"h0st+Id=","bytesTransferredOut":52736.0},
        "requestID":"7C1A9E3F5B2D4086","eventID":"e1","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,
        "vpcEndpointId":"vpce-0a1b2c3d4e5f60718","vpcEndpointAccountId":"111122223333","eventCategory":"Data"}"#;

    #[test]
    fn a_data_event_fills_the_record() {
        let r = request(DATA);
        let rec = r.record();
        assert_eq!(rec.bucket, Some(&b"shared-data-prod"[..]));
        assert_eq!(rec.time, 1_652_091_160);
        assert_eq!(rec.remote_ip, Some("10.0.12.34".parse().unwrap()));
        assert_eq!(rec.operation, Some(&b"GetObject"[..]));
        assert_eq!(rec.key, Some(&b"exports/a.parquet"[..]));
        assert_eq!(rec.request_id, Some(&b"7C1A9E3F5B2D4086"[..]));
        assert_eq!(rec.bytes_sent, Some(52736));
        assert_eq!(rec.http_status, None);
        assert_eq!(rec.vpc_endpoint_id, Some(&b"vpce-0a1b2c3d4e5f60718"[..]));
        assert_eq!(rec.vpc_endpoint_account, Some(&b"111122223333"[..]));
        assert_eq!(rec.region, Some(&b"ap-northeast-2"[..]));
        assert_eq!(rec.signature_version, Some(&b"SigV4"[..]));
        assert_eq!(rec.host_id, Some(&b"h0st+Id="[..]));
        assert_eq!(
            rec.host_header,
            Some(&b"shared-data-prod.s3.ap-northeast-2.amazonaws.com"[..])
        );
        assert!(matches!(r.requester, Some(Cow::Borrowed(_))), "borrowed");
    }

    #[test]
    fn services_are_internal_and_denials_are_403() {
        let athena = DATA
            .replace("\"10.0.12.34\"", "\"athena.amazonaws.com\"")
            .replace(
                "\"arn\":\"arn:aws:sts::111122223333:assumed-role/ec2-s3-reader/i-0a1b\",",
                "\"invokedBy\":\"athena.amazonaws.com\",",
            );
        let r = request(&athena);
        assert_eq!(r.remote_ip, None);
        assert_eq!(r.requester.as_deref(), Some("athena.amazonaws.com"));
        let internal = DATA.replace("\"10.0.12.34\"", "\"AWS Internal\"");
        assert_eq!(request(&internal).remote_ip, None);
        let denied = DATA.replace(
            "\"eventCategory\"",
            "\"errorCode\":\"VpceAccessDenied\",\"eventCategory\"",
        );
        let r = request(&denied);
        assert_eq!(
            (r.http_status, r.error_code.as_deref()),
            (Some(403), Some("VpceAccessDenied"))
        );
        let v6 = DATA.replace("\"10.0.12.34\"", "\"2600:1f18:abcd::5\"");
        assert!(request(&v6).remote_ip.unwrap().is_ipv6());
    }

    #[test]
    fn other_services_are_skipped_and_endpoint_events_are_changes() {
        let kms = DATA.replace("s3.amazonaws.com", "kms.amazonaws.com");
        assert!(parse_event(kms.as_bytes()).unwrap().is_skipped());
        let list = DATA.replace("\"bucketName\":\"shared-data-prod\",", "");
        assert!(parse_event(list.as_bytes()).unwrap().is_skipped());
        let delete = r#"{"eventTime":"2022-05-09T10:31:50Z","eventSource":"ec2.amazonaws.com","eventName":"DeleteVpcEndpoints",
            "userIdentity":{"arn":"arn:aws:iam::111122223333:user/admin"},"sourceIPAddress":"203.0.113.10",
            "requestParameters":{"DeleteVpcEndpointsRequest":{"VpcEndpointId":{"tag":1,"content":"vpce-0a1b2c3d4e5f60718"}}},
            "responseElements":{"DeleteVpcEndpointsResponse":{"unsuccessful":""}}}"#;
        let e = parse_event(delete.as_bytes()).unwrap();
        assert!(e.request.is_none());
        let c = e.change.unwrap();
        assert_eq!(c.event, "DeleteVpcEndpoints");
        assert_eq!(c.endpoints, ["vpce-0a1b2c3d4e5f60718"]);
        assert!(c.moves_traffic());
        let policy = DATA.replace("\"GetObject\"", "\"PutBucketPolicy\"");
        let e = parse_event(policy.as_bytes()).unwrap();
        assert!(e.request.is_some(), "a bucket policy call is a request too");
        assert_eq!(
            e.change.unwrap().bucket.as_deref(),
            Some("shared-data-prod")
        );
    }

    #[test]
    fn the_bucket_may_come_from_the_resources_and_events_from_an_envelope() {
        let no_param = DATA.replace("\"bucketName\":\"shared-data-prod\",", "").replace(
            "\"eventType\"",
            "\"resources\":[{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::other/k\"},{\"accountId\":\"1\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::from-arn\"}],\"eventType\"",
        );
        assert_eq!(request(&no_param).bucket, "from-arn");
        let wrapped = format!(
            "{{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.s3\",\"detail\":{DATA}}}"
        );
        assert_eq!(request(&wrapped).bucket, "shared-data-prod");
    }

    #[test]
    fn wrong_types_and_strange_values_are_named() {
        for (from, to, reason) in [
            (
                "\"eventTime\":\"2022-05-09T10:12:40Z\"",
                "\"eventTime\":5",
                "eventTime is a number, not a string",
            ),
            (
                "\"eventTime\":\"2022-05-09T10:12:40Z\"",
                "\"eventTime\":\"yesterday\"",
                "eventTime \"yesterday\" is not an RFC 3339 time",
            ),
            (
                "\"eventSource\":\"s3.amazonaws.com\",",
                "",
                "no eventSource",
            ),
            (
                "\"10.0.12.34\"",
                "\"evil.example\"",
                "neither an address nor an AWS service",
            ),
            (
                "\"requestParameters\":{",
                "\"requestParameters\":[],\"x\":{",
                "requestParameters is an array",
            ),
            (
                "52736.0",
                "\"many\"",
                "bytesTransferredOut is a string, not a number",
            ),
            ("52736.0", "-1", "-1 is not a byte count"),
            (
                "\"vpcEndpointId\":\"vpce-0a1b2c3d4e5f60718\"",
                "\"vpcEndpointId\":{}",
                "vpcEndpointId is an object",
            ),
        ] {
            let json = DATA.replacen(from, to, 1);
            assert_ne!(json, DATA, "{from}");
            let e = parse_event(json.as_bytes()).unwrap_err();
            assert!(e.0.contains(reason), "{e} for {to}");
        }
        for bad in ["[1]", "42", "\"x\"", "{", "{\"a\":}", "   "] {
            assert!(parse_event(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
