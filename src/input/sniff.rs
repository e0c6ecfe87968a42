//! What another log looks like: when an input is not S3 server access logs (CloudTrail
//! JSON, a CloudWatch Logs export, VPC flow logs, ...), its first bytes usually say
//! which log it is, so that a run whose lines are all rejected can name the mistake
//! ("this is CloudTrail JSON") rather than only count it.

/// The name of the log that `head` (the first bytes of a decoded input) is recognisably
/// the start of, if it is one that is not an S3 server access log.
pub fn other_log(head: &[u8]) -> Option<&'static str> {
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let text = &text[start..];
    let has = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
    if text.starts_with(b"{") && (has(b"\"Records\"") || has(b"\"eventVersion\"")) {
        return Some("CloudTrail JSON");
    }
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return Some("JSON");
    }
    if text.starts_with(b"#Version:") || text.starts_with(b"#Fields:") {
        return Some("a CloudFront or W3C extended log");
    }
    if text.starts_with(b"version account-id interface-id") || flow_log_record(text) {
        return Some("VPC flow logs");
    }
    let first = text.split(|&b| b == b' ').next().unwrap_or_default();
    if matches!(
        first,
        b"http" | b"https" | b"h2" | b"grpcs" | b"ws" | b"wss"
    ) && text.get(first.len() + 1..).is_some_and(iso_time)
    {
        return Some("an Elastic Load Balancing access log");
    }
    if iso_time(text) {
        return Some("a CloudWatch Logs export (a timestamp, then the message)");
    }
    None
}

/// `2 123456789012 eni-…`: a default-format flow log record.
fn flow_log_record(text: &[u8]) -> bool {
    let mut fields = text.split(|&b| b == b' ');
    let version = fields.next().unwrap_or_default();
    let account = fields.next().unwrap_or_default();
    let interface = fields.next().unwrap_or_default();
    !version.is_empty()
        && version.iter().all(u8::is_ascii_digit)
        && account.len() == 12
        && account.iter().all(u8::is_ascii_digit)
        && interface.starts_with(b"eni-")
}

/// Does `text` start with an ISO 8601 UTC time such as `2022-05-09T10:00:00.123Z`?
fn iso_time(text: &[u8]) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if text.len() < SHAPE.len() + 1 {
        return false;
    }
    let shaped = SHAPE.iter().zip(text).all(|(&want, &got)| match want {
        b'd' => got.is_ascii_digit(),
        c => c == got,
    });
    let rest = &text[SHAPE.len()..];
    let digits = rest.strip_prefix(b".").map_or(0, |r| {
        r.iter().take_while(|b| b.is_ascii_digit()).count() + 1
    });
    shaped && matches!(rest.get(digits), Some(b'Z' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_logs_are_named_and_access_logs_are_not() {
        let cases: [(&[u8], Option<&str>); 10] = [
            (
                br#"{"Records":[{"eventVersion":"1.08","eventSource":"s3.amazonaws.com"}]}"#,
                Some("CloudTrail JSON"),
            ),
            (
                b"\xef\xbb\xbf  {\"eventVersion\":\"1.09\",\"eventTime\":\"2022-05-09T10:00:00Z\"}\n",
                Some("CloudTrail JSON"),
            ),
            (b"[1, 2]", Some("JSON")),
            (
                b"2022-05-09T10:32:05.123Z START RequestId: 6f0c",
                Some("a CloudWatch Logs export (a timestamp, then the message)"),
            ),
            (
                b"version account-id interface-id srcaddr dstaddr\n",
                Some("VPC flow logs"),
            ),
            (
                b"2 123456789012 eni-0a1b2c3d 10.0.1.5 52.95.110.1 443 49152 6 10 840 1652090400 1652090460 ACCEPT OK",
                Some("VPC flow logs"),
            ),
            (
                b"https 2022-05-09T10:32:05.086743Z app/my-lb/50dc6c495c0c9188 52.79.54.241:2817",
                Some("an Elastic Load Balancing access log"),
            ),
            (
                b"#Version: 1.0\n#Fields: date time x-edge-location",
                Some("a CloudFront or W3C extended log"),
            ),
            (
                b"5a2e4c8f0b1d3e6f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f shared-data-prod [09/May/2022:10:32:05 +0000] 52.79.54.241",
                None,
            ),
            (b"", None),
        ];
        for (head, want) in cases {
            assert_eq!(other_log(head), want, "{}", String::from_utf8_lossy(head));
        }
        assert_eq!(other_log(b"2022-05-09T10:00:00 no zone"), None);
    }
}
