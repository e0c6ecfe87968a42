//! Which network a request came from, judged by its remote IP, and whether S3 let it
//! through.
//!
//! Through a gateway VPC endpoint S3 sees the caller's private address; over the
//! internet (an internet or NAT gateway) it sees a public one. Requests without a
//! remote IP are S3 acting on the bucket itself (or, in CloudTrail, an AWS service
//! acting for someone). A request whose VPC endpoint is known (CloudTrail's
//! `vpcEndpointId`) came through that endpoint whatever its address: a VPC's IPv6
//! addresses are global, and only the endpoint id tells them apart. The [`Outcome`] tells a request a
//! policy refused (HTTP 403 `AccessDenied`) from one S3 refused before any policy was
//! evaluated (a bad signature, an unknown key, an expired token) and from one it let
//! through.

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;

use crate::record::Record;

/// The class of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// From a private address: through a VPC endpoint.
    Private,
    /// From any other address: over the public internet.
    Public,
    /// No remote IP (`-`): lifecycle, replication, log delivery, CloudFront OAC.
    Internal,
}

impl Class {
    /// The lowercase name used in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Class::Private => "private",
            Class::Public => "public",
            Class::Internal => "internal",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error codes of requests S3 refuses before it evaluates any policy: the signature,
/// key, token or clock is wrong, or the account cannot be used. Such a refusal says
/// nothing about whether the bucket policy works.
pub const REFUSED_BEFORE_POLICY: [&str; 12] = [
    "AccountProblem",
    "AllAccessDisabled",
    "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError",
    "ExpiredToken",
    "InvalidAccessKeyId",
    "InvalidSecurity",
    "InvalidToken",
    "MissingSecurityHeader",
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
];

/// The error code CloudTrail gives a request that a VPC endpoint's policy denied: it
/// never reached S3, so no access log has it.
pub const VPCE_ACCESS_DENIED: &str = "VpceAccessDenied";

/// What S3 did with a request, as far as the network policy is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It got past every policy (whatever its status: a 404 was let through too).
    Allowed,
    /// HTTP 403 `AccessDenied` (or 403 without an error code): a policy refused it;
    /// also CloudTrail's `VpceAccessDenied`, the endpoint's policy.
    Denied,
    /// Refused before any policy was evaluated ([`REFUSED_BEFORE_POLICY`]).
    Rejected,
}

impl Outcome {
    /// The outcome of a request answered with `status` and `error_code` (`None`: `-`).
    #[inline]
    pub fn of(status: Option<u16>, error_code: Option<&[u8]>) -> Outcome {
        match (status, error_code) {
            (_, Some(code)) if REFUSED_BEFORE_POLICY.iter().any(|c| c.as_bytes() == code) => {
                Outcome::Rejected
            }
            (Some(403), None | Some(b"AccessDenied" | b"VpceAccessDenied")) => Outcome::Denied,
            _ => Outcome::Allowed,
        }
    }
}

/// The ranges that count as private by default: RFC 1918, RFC 6598 shared address
/// space (used as VPC secondary CIDR) and IPv6 unique local addresses.
pub const DEFAULT_PRIVATE: [&str; 5] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

/// Classifies remote IPs against the private ranges.
#[derive(Clone, Debug)]
pub struct Classifier {
    v4: Vec<(u32, u32)>,
    v6: Vec<Ipv6Net>,
    ranges: Vec<IpNet>,
}

impl Classifier {
    /// The default private ranges plus `extra` (VPC CIDRs outside them).
    pub fn new(extra: &[IpNet]) -> Self {
        let mut ranges: Vec<IpNet> = DEFAULT_PRIVATE
            .iter()
            .map(|s| s.parse().expect("default ranges are valid CIDRs"))
            .collect();
        for net in extra {
            if !ranges.contains(&net.trunc()) {
                ranges.push(net.trunc());
            }
        }
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in &ranges {
            match net {
                IpNet::V4(n) => v4.push(mask(n)),
                IpNet::V6(n) => v6.push(*n),
            }
        }
        Classifier { v4, v6, ranges }
    }

    /// Every range that counts as private, defaults first.
    pub fn ranges(&self) -> &[IpNet] {
        &self.ranges
    }

    /// The class of a record: private if it names the VPC endpoint that carried it,
    /// otherwise by its remote IP.
    #[inline]
    pub fn classify_record(&self, r: &Record<'_>) -> Class {
        if r.vpc_endpoint_id.is_some() {
            Class::Private
        } else {
            self.classify(r.remote_ip)
        }
    }

    /// The class of a request with this remote IP (`None` for `-`).
    #[inline]
    pub fn classify(&self, ip: Option<IpAddr>) -> Class {
        match ip {
            None => Class::Internal,
            Some(IpAddr::V4(v4)) => self.classify_v4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => self.classify_v4(u32::from(v4)),
                None if self.v6.iter().any(|n| n.contains(&v6)) => Class::Private,
                None => Class::Public,
            },
        }
    }

    #[inline]
    fn classify_v4(&self, ip: u32) -> Class {
        if self.v4.iter().any(|&(net, mask)| ip & mask == net) {
            Class::Private
        } else {
            Class::Public
        }
    }
}

fn mask(net: &Ipv4Net) -> (u32, u32) {
    let mask = u32::from(net.netmask());
    (u32::from(net.network()) & mask, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(c: &Classifier, ip: &str) -> Class {
        c.classify(Some(ip.parse().unwrap()))
    }

    #[test]
    fn default_ranges_and_their_edges() {
        let c = Classifier::new(&[]);
        for ip in [
            "10.0.0.0",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "fd00::1",
            "fc00::",
            "::ffff:10.1.2.3",
        ] {
            assert_eq!(class(&c, ip), Class::Private, "{ip}");
        }
        for ip in [
            "52.79.54.241",
            "9.255.255.255",
            "11.0.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.169.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "2001:db8::1",
            "fe80::1",
            "::ffff:52.1.2.3",
        ] {
            assert_eq!(class(&c, ip), Class::Public, "{ip}");
        }
        assert_eq!(c.classify(None), Class::Internal);
    }

    #[test]
    fn classes_are_written_by_their_lowercase_names() {
        for (class, name) in [
            (Class::Private, "private"),
            (Class::Public, "public"),
            (Class::Internal, "internal"),
        ] {
            assert_eq!((class.name(), class.to_string()), (name, name.to_string()));
        }
    }

    #[test]
    fn extra_vpc_cidrs_count_as_private() {
        let c = Classifier::new(&[
            "198.19.0.0/16".parse().unwrap(),
            "2600:1f18:abcd::/48".parse().unwrap(),
        ]);
        assert_eq!(class(&c, "198.19.4.5"), Class::Private);
        assert_eq!(class(&c, "198.20.0.1"), Class::Public);
        assert_eq!(class(&c, "2600:1f18:abcd:1::5"), Class::Private);
        assert_eq!(c.ranges().len(), 7);
    }

    #[test]
    fn outcomes_tell_policy_denials_from_earlier_refusals() {
        let of = |status, code: &str| Outcome::of(status, (code != "-").then_some(code.as_bytes()));
        assert_eq!(of(Some(403), "AccessDenied"), Outcome::Denied);
        assert_eq!(of(Some(403), "-"), Outcome::Denied);
        assert_eq!(of(Some(403), "SignatureDoesNotMatch"), Outcome::Rejected);
        assert_eq!(of(Some(403), "InvalidAccessKeyId"), Outcome::Rejected);
        assert_eq!(of(Some(400), "ExpiredToken"), Outcome::Rejected);
        assert_eq!(of(Some(403), "RequestTimeTooSkewed"), Outcome::Rejected);
        assert_eq!(of(Some(403), "InvalidObjectState"), Outcome::Allowed);
        assert_eq!(of(Some(404), "NoSuchKey"), Outcome::Allowed);
        assert_eq!(of(Some(200), "-"), Outcome::Allowed);
        assert_eq!(of(None, "-"), Outcome::Allowed);
        assert_eq!(of(Some(403), "VpceAccessDenied"), Outcome::Denied);
        assert_eq!(
            of(Some(403), "accessdenied"),
            Outcome::Allowed,
            "codes are exact"
        );
    }

    #[test]
    fn a_named_endpoint_is_private_whatever_the_address() {
        let c = Classifier::new(&[]);
        let through = |ip: Option<&str>| Record {
            remote_ip: ip.map(|s| s.parse().unwrap()),
            vpc_endpoint_id: Some(b"vpce-0a1b2c3d4e5f60718"),
            ..Record::default()
        };
        for ip in [Some("2600:1f18:abcd::5"), Some("52.79.54.241"), None] {
            assert_eq!(c.classify_record(&through(ip)), Class::Private, "{ip:?}");
        }
        let plain = Record {
            remote_ip: Some("52.79.54.241".parse().unwrap()),
            ..Record::default()
        };
        assert_eq!(c.classify_record(&plain), Class::Public);
        assert_eq!(c.classify_record(&Record::default()), Class::Internal);
    }

    #[test]
    fn host_bits_in_a_cidr_are_ignored() {
        let c = Classifier::new(&["203.0.113.77/24".parse().unwrap()]);
        assert_eq!(class(&c, "203.0.113.1"), Class::Private);
    }
}
