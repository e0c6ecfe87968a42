//! AWS's published address ranges (`ip-ranges.json`): which AWS service and region a
//! public address belongs to.
//!
//! A public address inside an EC2 range of the bucket's own region is almost surely a
//! NAT gateway or a public instance of some VPC that bypassed the endpoint (the blog
//! post's 52.79.54.241); an address outside every range is someone on the internet.
//! The ranges nest (`AMAZON` covers the service ranges inside it), so an address gets
//! the most specific prefix that holds it, looked up in a prefix trie built once
//! ([`prefix_trie`]); where one prefix is listed for several services, the named
//! service wins over the catch-all `AMAZON`.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use ipnet::{Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use serde::Deserialize;

/// The largest ranges file read: AWS's own is about 2 MB.
pub const MAX_FILE: u64 = 64 << 20;

/// The catch-all service of the ranges file: every AWS address is also `AMAZON`.
const CATCH_ALL: &str = "AMAZON";

/// What a range is used for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// `EC2`, `AMAZON`, `S3`, `CLOUDFRONT`, ...
    pub service: String,
    /// `ap-northeast-2`, or `GLOBAL`.
    pub region: String,
}

impl Tag {
    /// Is this an EC2 range of `region`: where a VPC's NAT gateway or public instance
    /// gets its address?
    pub fn is_ec2_in(&self, region: &str) -> bool {
        self.service == "EC2" && self.region == region
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service, self.region)
    }
}

/// The text for an address outside every range.
pub const OUTSIDE: &str = "outside AWS";

/// The ranges, ready for lookups.
#[derive(Clone, Debug, Default)]
pub struct AwsRanges {
    v4: PrefixMap<Ipv4Net, usize>,
    v6: PrefixMap<Ipv6Net, usize>,
    tags: Vec<Tag>,
    /// Prefixes read.
    pub prefixes: usize,
    /// The file's `createDate`.
    pub created: Option<String>,
}

/// Why a ranges file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RangesError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("larger than {} MiB: not AWS's ip-ranges.json", MAX_FILE >> 20)]
    TooLarge,
    #[error("not AWS's ip-ranges.json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{prefix:?} is not a CIDR prefix")]
    Prefix { prefix: String },
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "createDate")]
    create_date: Option<String>,
    prefixes: Vec<Entry>,
    #[serde(default)]
    ipv6_prefixes: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(alias = "ipv6_prefix")]
    ip_prefix: String,
    region: String,
    service: String,
}

impl AwsRanges {
    /// Reads `ip-ranges.json` from `path`.
    pub fn load(path: &Path) -> Result<AwsRanges, RangesError> {
        let mut text = String::new();
        std::fs::File::open(path)?
            .take(MAX_FILE + 1)
            .read_to_string(&mut text)?;
        if text.len() as u64 > MAX_FILE {
            return Err(RangesError::TooLarge);
        }
        AwsRanges::parse(&text)
    }

    /// Reads the text of `ip-ranges.json`.
    pub fn parse(json: &str) -> Result<AwsRanges, RangesError> {
        let file: File = serde_json::from_str(json)?;
        let mut ranges = AwsRanges {
            created: file.create_date,
            ..AwsRanges::default()
        };
        for e in file.prefixes.into_iter().chain(file.ipv6_prefixes) {
            let bad = || RangesError::Prefix {
                prefix: e.ip_prefix.chars().take(60).collect(),
            };
            let tag = Tag {
                service: e.service.clone(),
                region: e.region.clone(),
            };
            if e.ip_prefix.contains(':') {
                let net: Ipv6Net = e.ip_prefix.parse().map_err(|_| bad())?;
                ranges.insert_v6(net.trunc(), tag);
            } else {
                let net: Ipv4Net = e.ip_prefix.parse().map_err(|_| bad())?;
                ranges.insert_v4(net.trunc(), tag);
            }
            ranges.prefixes += 1;
        }
        Ok(ranges)
    }

    /// Should `new` replace the tag at `old` for the same prefix? A named service
    /// replaces the catch-all.
    fn better(&self, old: usize, new: &Tag) -> bool {
        self.tags[old].service == CATCH_ALL && new.service != CATCH_ALL
    }

    fn insert_v4(&mut self, net: Ipv4Net, tag: Tag) {
        match self.v4.get(&net).copied() {
            Some(old) if !self.better(old, &tag) => {}
            _ => {
                self.tags.push(tag);
                self.v4.insert(net, self.tags.len() - 1);
            }
        }
    }

    fn insert_v6(&mut self, net: Ipv6Net, tag: Tag) {
        match self.v6.get(&net).copied() {
            Some(old) if !self.better(old, &tag) => {}
            _ => {
                self.tags.push(tag);
                self.v6.insert(net, self.tags.len() - 1);
            }
        }
    }

    /// The most specific range holding `ip`; `None` outside AWS. An IPv4-mapped IPv6
    /// address is looked up as IPv4.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Tag> {
        let v4 = |a| self.v4.get_lpm(&Ipv4Net::from(a)).map(|(_, &i)| i);
        let at = match ip {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(a) => v4(a),
                None => self.v6.get_lpm(&Ipv6Net::from(a)).map(|(_, &i)| i),
            },
        };
        at.map(|i| &self.tags[i])
    }

    /// `EC2 ap-northeast-2`, or `outside AWS`.
    pub fn describe(&self, ip: IpAddr) -> String {
        self.lookup(ip)
            .map_or_else(|| OUTSIDE.to_string(), ToString::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{"syncToken":"1","createDate":"2022-05-09-08-03-06","prefixes":[
        {"ip_prefix":"52.78.0.0/15","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"},
        {"ip_prefix":"52.79.0.0/16","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"},
        {"ip_prefix":"52.79.0.0/16","region":"ap-northeast-2","service":"EC2","network_border_group":"ap-northeast-2"},
        {"ip_prefix":"52.79.0.0/16","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"},
        {"ip_prefix":"52.95.192.0/20","region":"ap-northeast-2","service":"S3","network_border_group":"ap-northeast-2"}],
      "ipv6_prefixes":[
        {"ipv6_prefix":"2600:1f18::/33","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"},
        {"ipv6_prefix":"2600:1f00::/24","region":"GLOBAL","service":"AMAZON","network_border_group":"GLOBAL"}]}"#;

    #[test]
    fn the_most_specific_named_range_wins() {
        let r = AwsRanges::parse(FILE).unwrap();
        assert_eq!(r.prefixes, 7);
        let at = |ip: &str| r.describe(ip.parse().unwrap());
        assert_eq!(at("52.79.54.241"), "EC2 ap-northeast-2");
        assert_eq!(at("52.78.1.1"), "AMAZON ap-northeast-2");
        assert_eq!(at("52.95.193.7"), "S3 ap-northeast-2");
        assert_eq!(at("203.0.113.9"), OUTSIDE);
        assert_eq!(at("2600:1f18:4a3:6f00::1c"), "EC2 us-east-1");
        assert_eq!(at("2600:1f99::1"), "AMAZON GLOBAL");
        assert_eq!(at("::ffff:52.79.54.241"), "EC2 ap-northeast-2");
        assert_eq!(at("2001:db8::1"), OUTSIDE);
        let tag = r.lookup("52.79.54.241".parse().unwrap()).unwrap();
        assert!(tag.is_ec2_in("ap-northeast-2") && !tag.is_ec2_in("us-east-1"));
    }

    #[test]
    fn what_is_not_a_ranges_file_is_refused() {
        assert!(AwsRanges::parse("{}").is_err());
        assert!(AwsRanges::parse("[1]").is_err());
        let bad = r#"{"prefixes":[{"ip_prefix":"52.79.0.0/33","region":"x","service":"EC2"}]}"#;
        assert!(AwsRanges::parse(bad)
            .unwrap_err()
            .to_string()
            .contains("not a CIDR"));
    }
}
