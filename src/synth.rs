//! Synthetic S3 server access logs, reproducible from a seed, for benchmarks and
//! load tests: a realistic mix of field eras, buckets, requesters, private, public and
//! internal addresses, denials, presigned URLs and long user agents; CloudTrail log
//! files of S3 data events ([`write_cloudtrail`]) and AWS's range file
//! ([`write_ip_ranges`]) likewise.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::time::{civil_from_days, days_from_civil};

/// A small, fast, seeded generator (SplitMix64); not for cryptography.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator with this seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const USER_AGENTS: [&str; 6] = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.213-201.855.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.cp",
    "aws-sdk-java/1.12.681 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS java/17.0.10 vendor/Amazon.com_Inc. cfg/retry-mode/standard",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.92",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "Hadoop 3.3.6, aws-sdk-java/1.12.367 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 scala/2.12.18 vendor/Amazon.com_Inc. cfg/retry-mode/legacy",
    "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.217-182.855.amzn2int.x86_64 OpenJDK_64-Bit_Server_VM/25.412-b09 java/1.8.0_412",
];

const OPERATIONS: [&str; 6] = [
    "REST.GET.OBJECT",
    "REST.GET.OBJECT",
    "REST.GET.OBJECT",
    "REST.PUT.OBJECT",
    "REST.HEAD.OBJECT",
    "REST.GET.BUCKET",
];

/// Writes one CloudTrail log file (`{"Records":[…]}`, on one line as CloudTrail does)
/// of `events` S3 data events from 2024-03-01 00:00:00 UTC: through one of a few VPC
/// endpoints, from public addresses, or made by AWS services; one in twenty other
/// services' events.
pub fn write_cloudtrail(out: &mut dyn Write, seed: u64, events: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut time = days_from_civil(2024, 3, 1) * 86_400;
    let mut event = String::with_capacity(2048);
    out.write_all(b"{\"Records\":[")?;
    for i in 0..events {
        time += rng.below(3) as i64;
        event.clear();
        let (days, secs) = (time.div_euclid(86_400), time.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        let at = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        let bucket = rng.below(8);
        let account = 100_000_000_000 + rng.below(20);
        let source = if rng.below(20) == 0 {
            "kms.amazonaws.com"
        } else {
            "s3.amazonaws.com"
        };
        let (ip, endpoint) = match rng.below(10) {
            0..=5 => (
                format!("10.{}.{}.{}", rng.below(4), rng.below(256), rng.below(256)),
                format!(
                    ",\"vpcEndpointId\":\"vpce-0{:016x}\",\"vpcEndpointAccountId\":\"{account}\"",
                    rng.below(3)
                ),
            ),
            6..=8 => (
                format!("52.{}.{}.{}", 79 + rng.below(4), bucket, 241 + rng.below(4)),
                String::new(),
            ),
            _ => ("athena.amazonaws.com".to_string(), String::new()),
        };
        let _ = write!(
            event,
            "{}{{\"eventVersion\":\"1.09\",\"userIdentity\":{{\"type\":\"AssumedRole\",\"principalId\":\"AROAEXAMPLE:i-0{:x}\",\"arn\":\"arn:aws:sts::{account}:assumed-role/reader-{}/i-0{:x}\",\"accountId\":\"{account}\"}},\"eventTime\":\"{at}\",\"eventSource\":\"{source}\",\"eventName\":\"{}\",\"awsRegion\":\"ap-northeast-2\",\"sourceIPAddress\":\"{ip}\",\"userAgent\":\"{}\",\"requestParameters\":{{\"bucketName\":\"data-lake-{bucket:02}\",\"Host\":\"data-lake-{bucket:02}.s3.ap-northeast-2.amazonaws.com\",\"key\":\"exports/2024/part-{:05}.parquet\"}},\"responseElements\":null,\"additionalEventData\":{{\"SignatureVersion\":\"SigV4\",\"CipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"bytesTransferredIn\":0,\"AuthenticationMethod\":\"AuthHeader\",\"x-amz-id-2\":\"{:016x}{:016x}=\",\"bytesTransferredOut\":{}}},\"requestID\":\"{:016X}\",\"eventID\":\"{:08x}-{:04x}\",\"readOnly\":true,\"resources\":[{{\"type\":\"AWS::S3::Object\",\"ARN\":\"arn:aws:s3:::data-lake-{bucket:02}/exports\"}},{{\"accountId\":\"{account}\",\"type\":\"AWS::S3::Bucket\",\"ARN\":\"arn:aws:s3:::data-lake-{bucket:02}\"}}],\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"{account}\"{endpoint},\"eventCategory\":\"Data\",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\"clientProvidedHostHeader\":\"data-lake-{bucket:02}.s3.ap-northeast-2.amazonaws.com\"}}}}",
            if i == 0 { "" } else { "," },
            rng.next_u64() >> 16,
            rng.below(5),
            rng.next_u64() >> 16,
            rng.pick(&["GetObject", "GetObject", "PutObject", "HeadObject", "ListObjects"]),
            rng.pick(&USER_AGENTS),
            rng.below(100_000),
            rng.next_u64(),
            rng.next_u64(),
            rng.below(1 << 20),
            rng.next_u64(),
            rng.next_u64() >> 32,
            rng.below(1 << 16),
        );
        out.write_all(event.as_bytes())?;
    }
    out.write_all(b"]}\n")
}

/// Writes an `ip-ranges.json` of `prefixes` IPv4 prefixes (a /16 of EC2 per region
/// holding the generated NAT addresses, the rest /24s across the address space) and a
/// few IPv6 ones: the size of AWS's own file.
pub fn write_ip_ranges(out: &mut dyn Write, seed: u64, prefixes: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    let regions = ["ap-northeast-2", "us-east-1", "eu-west-1", "us-west-2"];
    let services = ["AMAZON", "EC2", "S3", "CLOUDFRONT", "ROUTE53_HEALTHCHECKS"];
    let mut entries = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        entries.push(format!(
            "{{\"ip_prefix\":\"52.{}.0.0/16\",\"region\":\"{region}\",\"service\":\"EC2\",\"network_border_group\":\"{region}\"}}",
            79 + i
        ));
    }
    for _ in entries.len() as u64..prefixes {
        let region = rng.pick(&regions);
        entries.push(format!(
            "{{\"ip_prefix\":\"{}.{}.{}.0/24\",\"region\":\"{region}\",\"service\":\"{}\",\"network_border_group\":\"{region}\"}}",
            3 + rng.below(60),
            rng.below(256),
            rng.below(256),
            rng.pick(&services)
        ));
    }
    write!(
        out,
        "{{\"syncToken\":\"1\",\"createDate\":\"2024-03-01-00-00-00\",\"prefixes\":[{}],\"ipv6_prefixes\":[{{\"ipv6_prefix\":\"2600:1f18::/33\",\"region\":\"us-east-1\",\"service\":\"EC2\",\"network_border_group\":\"us-east-1\"}}]}}",
        entries.join(",")
    )
}

/// Writes `lines` log lines starting at 2024-03-01 00:00:00 UTC, a few per second.
pub fn write_logs(out: &mut dyn Write, seed: u64, lines: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut line = String::with_capacity(1024);
    let mut time = days_from_civil(2024, 3, 1) * 86_400;
    for _ in 0..lines {
        time += rng.below(3) as i64;
        line.clear();
        one_line(&mut rng, time, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn one_line(rng: &mut Rng, time: i64, s: &mut String) {
    let owner = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f1a3c5e7b9d1f3a";
    let bucket_no = rng.below(20);
    let bucket = format!("data-lake-{bucket_no:02}");
    let (days, secs) = (time.div_euclid(86_400), time.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    // Each bucket is used by a few roles of a few accounts; each role runs on a few
    // hosts. Most traffic comes through the endpoint, some from NAT gateways, some
    // from anonymous internet clients (a website bucket's visitors).
    let b = bucket_no;
    // Roles 0-3 run in VPCs with the endpoint; roles 4-5 reach S3 through a NAT
    // gateway. Now and then (1 in 2,000) an endpoint role goes out through the NAT:
    // the switch the report exists to show.
    let role = rng.below(6);
    let account = 100_000_000_000 + (b + role) % 8 * 111_111_111;
    let requester = assumed_role(account, b, role, rng);
    let kind = rng.below(100);
    let strays = rng.below(2000) == 0;
    let (ip, requester) = match kind {
        80..=89 => (
            format!(
                "{}.{}.{}.{}",
                3 + rng.below(200),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            ),
            "-".to_string(),
        ),
        90..=99 => ("-".to_string(), "svc:logging.s3.amazonaws.com".to_string()),
        _ if role >= 4 || strays => {
            if rng.below(4) == 0 {
                let ip = format!("2600:1f18:{:x}:{:x}::{:x}", b, role, rng.below(16));
                (ip, requester)
            } else {
                (
                    format!("52.{}.{}.{}", 79 + role, b, 241 + rng.below(4)),
                    requester,
                )
            }
        }
        0..=59 => (
            format!("10.{}.{}.{}", b, role, 10 + rng.below(8)),
            requester,
        ),
        _ => (
            format!("172.31.{}.{}", 16 * role + b % 16, 5 + rng.below(4)),
            requester,
        ),
    };
    let op = if ip == "-" {
        "S3.EXPIRE.OBJECT"
    } else {
        rng.pick(&OPERATIONS)
    };
    let key = format!(
        "tenant-{}/year=2024/month=03/part-{:05}-{:08x}.snappy.parquet",
        rng.below(50),
        rng.below(100_000),
        rng.next_u64() as u32
    );
    let denied = rng.below(20) == 0;
    let status = if denied {
        "403"
    } else if op == "REST.PUT.OBJECT" {
        "200"
    } else {
        ["200", "200", "200", "206", "304", "404"][rng.below(6) as usize]
    };
    let error = if denied {
        "AccessDenied"
    } else if status == "404" {
        "NoSuchKey"
    } else {
        "-"
    };
    let size = rng.below(50_000_000);
    let presigned = rng.below(10) == 0;
    let uri = if op == "S3.EXPIRE.OBJECT" {
        "-".to_string()
    } else if presigned {
        format!(
            "GET /{bucket}/{key}?response-content-disposition=attachment;%20filename=\"report.pdf\"&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20240301%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240301T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={:016x}{:016x} HTTP/1.1",
            rng.next_u64(),
            rng.next_u64()
        )
    } else {
        format!(
            "{} /{bucket}/{key} HTTP/1.1",
            op.split('.').nth(1).unwrap_or("GET")
        )
    };
    let _ = write!(
        s,
        "{owner} {bucket} [{d:02}/{}/{y}:{:02}:{:02}:{:02} +0000] {ip} {requester} {:016X} {op} {key} \"{uri}\" {status} {error} {} {size} {} {} \"-\" \"{}\" -",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rng.next_u64(),
        if denied { 243 } else { rng.below(size + 1) },
        1 + rng.below(900),
        rng.below(60),
        rng.pick(&USER_AGENTS),
    );
    let era = rng.below(10);
    if era == 0 {
        return; // 18 fields, the oldest era still seen
    }
    let _ = write!(
        s,
        " {:016x}{:016x}{:016x}{:08x}= SigV4 {} AuthHeader {bucket}.s3.us-east-1.amazonaws.com TLSv1.{}",
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64() as u32,
        if rng.below(2) == 0 { "ECDHE-RSA-AES128-GCM-SHA256" } else { "TLS_AES_128_GCM_SHA256" },
        2 + rng.below(2),
    );
    match era {
        1..=3 => {}
        4..=5 => s.push_str(" -"),
        6..=7 => s.push_str(" - -"),
        _ => s.push_str(" - - us-east-1"),
    }
}

fn assumed_role(account: u64, bucket: u64, role: u64, rng: &mut Rng) -> String {
    format!(
        "arn:aws:sts::{account}:assumed-role/app-{bucket}-{role}/i-0{:016x}",
        rng.below(4) * 0x1111_1111_1111
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_line;

    #[test]
    fn generated_lines_all_parse_and_are_reproducible() {
        let mut a = Vec::new();
        write_logs(&mut a, 42, 2000).unwrap();
        let mut b = Vec::new();
        write_logs(&mut b, 42, 2000).unwrap();
        assert_eq!(a, b);
        let text = String::from_utf8(a).unwrap();
        let mut eras = std::collections::BTreeSet::new();
        for line in text.lines() {
            let r = parse_line(line.as_bytes()).unwrap_or_else(|e| panic!("{e}: {line}"));
            eras.insert((
                r.host_id.is_some(),
                r.access_point_arn.is_some() || r.acl_required.is_some(),
                r.source_region.is_some(),
            ));
        }
        assert_eq!(text.lines().count(), 2000);
        assert!(eras.len() >= 3, "several field eras: {eras:?}");
    }
}
