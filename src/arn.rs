//! The parts of an AWS ARN the audit needs: whose account a requester is in, and the
//! principal whose network path is audited (a role, not each of its sessions).
//!
//! ARNs look like `arn:partition:service:region:account:resource`; requesters that are
//! not ARNs (`-` for anonymous, canonical user ids, service principals) are kept as
//! they are.

use std::borrow::Cow;

use crate::escape;
use crate::parse;

/// How every output names the requester of unauthenticated requests (`-` in a log), and
/// its account.
pub const ANONYMOUS: &str = "anonymous";

/// A requester (a log's `-` included) as every output names it: [`ANONYMOUS`] for `-`,
/// otherwise its text (invalid UTF-8 replaced).
pub fn requester_name(requester: &[u8]) -> Cow<'_, str> {
    if requester == b"-" {
        Cow::Borrowed(ANONYMOUS)
    } else {
        escape::lossy(requester)
    }
}

/// The account a requester belongs to: the account id of an IAM/STS ARN, [`ANONYMOUS`]
/// for `-` or `anonymous`, otherwise the requester itself (canonical user id, AWS
/// service principal).
pub fn account_of(requester: &str) -> String {
    if requester == "-" || requester == ANONYMOUS {
        return ANONYMOUS.to_string();
    }
    if requester.starts_with("arn:") {
        if let Some(id) = requester.split(':').nth(4).filter(|id| !id.is_empty()) {
            return id.to_string();
        }
    }
    requester.to_string()
}

/// The identity whose network path is audited: an assumed-role ARN without its session
/// name (sessions come and go, the role stays), any other requester as it is.
pub fn principal(requester: &[u8]) -> &[u8] {
    const ASSUMED: &[u8] = b"assumed-role/";
    let Some(resource) = arn_resource(requester) else {
        return requester;
    };
    let Some(role_and_session) = requester[resource..].strip_prefix(ASSUMED) else {
        return requester;
    };
    // Role names are short: a plain scan beats setting up memchr.
    match role_and_session.iter().position(|&c| c == b'/') {
        Some(slash) => &requester[..resource + ASSUMED.len() + slash],
        None => requester,
    }
}

/// Where the resource part of an ARN (`arn:partition:service:region:account:resource`)
/// starts: after the fifth colon.
fn arn_resource(arn: &[u8]) -> Option<usize> {
    // The common case without a scan: arn:aws:sts::<12-digit account>:…
    const STS: &[u8; 13] = b"arn:aws:sts::";
    if let Some((account, _)) = arn
        .strip_prefix(STS)
        .and_then(|rest| rest.split_first_chunk::<12>())
    {
        if arn.get(STS.len() + 12) == Some(&b':') && all_digits(account) {
            return Some(STS.len() + 13);
        }
    }
    if !arn.starts_with(b"arn:") {
        return None;
    }
    let mut colons = arn.iter().enumerate().filter(|(_, &c)| c == b':');
    colons.nth(4).map(|(at, _)| at + 1)
}

/// Are all 12 bytes ASCII digits? Two overlapping 8-byte words, eight bytes at a time.
#[inline]
fn all_digits(b: &[u8; 12]) -> bool {
    let (head, _) = b.split_first_chunk::<8>().expect("12 > 8");
    let (_, tail) = b.split_last_chunk::<8>().expect("12 > 8");
    parse::all_digits(u64::from_le_bytes(*head)) && parse::all_digits(u64::from_le_bytes(*tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_arns() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/alice"),
            "123456789012"
        );
        assert_eq!(
            account_of("arn:aws:sts::111122223333:assumed-role/r/s"),
            "111122223333"
        );
        assert_eq!(account_of("arn:aws-cn:iam::100:user/x"), "100");
        assert_eq!(account_of("-"), "anonymous");
        assert_eq!(account_of(&requester_name(b"-")), "anonymous");
        assert_eq!(
            requester_name(b"arn:aws:iam::1:user/a"),
            "arn:aws:iam::1:user/a"
        );
        assert_eq!(
            account_of("svc:cloudfront.amazonaws.com"),
            "svc:cloudfront.amazonaws.com"
        );
        assert_eq!(account_of("AmazonS3"), "AmazonS3");
    }

    #[test]
    fn sessions_of_a_role_are_one_principal() {
        assert_eq!(
            principal(b"arn:aws:sts::111122223333:assumed-role/reader/i-0abc"),
            b"arn:aws:sts::111122223333:assumed-role/reader"
        );
        assert_eq!(
            principal(b"arn:aws:iam::1:user/alice"),
            b"arn:aws:iam::1:user/alice"
        );
        assert_eq!(
            principal(b"arn:aws:sts::1:assumed-role/no-session"),
            b"arn:aws:sts::1:assumed-role/no-session"
        );
        assert_eq!(principal(b"-"), b"-");
        assert_eq!(
            principal(b"arn:aws:sts::11112222333x:assumed-role/reader/i-0abc"),
            b"arn:aws:sts::11112222333x:assumed-role/reader"
        );
        assert_eq!(principal(b"arn:aws:sts::1111"), b"arn:aws:sts::1111");
    }

    #[test]
    fn account_digits_are_checked_eight_bytes_at_a_time() {
        assert!(all_digits(b"012345678999"));
        for at in 0..12 {
            for bad in [b'/', b':', b'?', b'a', b' ', 0x39 + 0x80, 0xB0, 0xFF, 0] {
                let mut account = *b"111122223333";
                account[at] = bad;
                assert!(!all_digits(&account), "{at} {bad:#x}");
            }
        }
    }
}
