//! `vpce-audit athena query`: the audit as one SQL query over the table of
//! [`super::ddl`], generated from the same [`Settings`] as the local report.
//!
//! One code path writes the query for two dialects: Trino (Athena) and DuckDB (the
//! equality test runs it over the same files as the local report and compares the
//! results window by window). Everything is plain SQL both engines read alike — time
//! parsing is integer arithmetic on the text, IPv4 ranges are integer intervals —
//! except three small [`Dialect`] hooks: integer division, formatting an epoch as
//! RFC 3339, and the IPv6 branch of the CIDR test (Trino's `IPADDRESS` type and
//! `contains`; on DuckDB, whose `inet` extension is not bundled, the address expanded
//! to 32 hex digits and compared by prefix).
//!
//! The query is a chain of common table expressions. `classified` has one row per
//! log line with `ok` (the line is a record), `matched` (it passes the filter) and
//! `class` (`private`, `public`, `internal`): the extension point for other audits
//! over the same rows (see [`Query::with_classified`]). The timeline groups it once
//! with `GROUPING SETS`, so Athena reads the logs once.

use std::fmt::Write as _;

use clap::ValueEnum;
use ipnet::IpNet;

use super::{literal, Layout, Table};
use crate::classify::REFUSED_BEFORE_POLICY;
use crate::report::requests::{RequestFilter, Status};
use crate::report::{TOP, TOP_REQUESTER_IPS};
use crate::settings::Settings;
use crate::time::{rfc3339, Zone, DAY, FIRST_MONDAY, WEEK};

/// The SQL dialect to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Amazon Athena engine 3 (Trino).
    Trino,
    /// DuckDB, for the equality test and for auditing a local copy with SQL.
    Duckdb,
}

/// The columns of the timeline query's result, in order: what
/// [`super::results`] reads back.
pub const RESULT_COLUMNS: [&str; 32] = [
    "kind",
    "bucket",
    "window_start",
    "window_epoch",
    "requests",
    "private",
    "private_denied",
    "public",
    "internal",
    "public_denied",
    "public_rejected",
    "public_allowed",
    "distinct_private_ips",
    "distinct_public_ips",
    "bytes_sent",
    "first_epoch",
    "last_epoch",
    "lines",
    "rejected",
    "inputs",
    "interval_seconds",
    "since_epoch",
    "until_epoch",
    "private_ranges",
    "requester",
    "address",
    "from_class",
    "to_class",
    "at_epoch",
    "first_public_epoch",
    "last_public_epoch",
    "time_zone",
];

/// The columns of [`RESULT_COLUMNS`] that hold text.
const TEXT_COLUMNS: [&str; 9] = [
    "kind",
    "bucket",
    "window_start",
    "private_ranges",
    "requester",
    "address",
    "from_class",
    "to_class",
    "time_zone",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Strict dotted quad (no leading zeros), as [`crate::parse::ipv4`] accepts it.
const IPV4_RE: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}";

impl Dialect {
    /// Integer division of non-negative operands.
    fn idiv(self, a: &str, b: &str) -> String {
        match self {
            Dialect::Trino => format!("{a} / {b}"),
            Dialect::Duckdb => format!("{a} // {b}"),
        }
    }

    /// An epoch in seconds as `2022-05-09T10:00:00Z`.
    fn utc_text(self, epoch: &str) -> String {
        match self {
            Dialect::Trino => format!(
                "format_datetime(from_unixtime({epoch}, 'UTC'), 'yyyy-MM-dd''T''HH:mm:ss''Z''')"
            ),
            Dialect::Duckdb => {
                format!("strftime(make_timestamp({epoch} * 1000000), '%Y-%m-%dT%H:%M:%SZ')")
            }
        }
    }

    /// The epoch of the start of the `unit` (`day`, or `week` from Monday) in `zone`
    /// that holds the epoch `t`.
    fn local_start(self, t: &str, zone: &str, unit: &str) -> String {
        let zone = literal(zone);
        match self {
            Dialect::Trino => format!(
                "CAST(to_unixtime(date_trunc('{unit}', from_unixtime({t}, {zone}))) AS BIGINT)"
            ),
            Dialect::Duckdb => format!(
                "CAST(epoch(timezone({zone}, date_trunc('{unit}', timezone({zone}, to_timestamp({t}))))) AS BIGINT)"
            ),
        }
    }

    /// An IPv6 address of `ip6` (see [`Query::with_classified`]) as 32 lowercase hex
    /// digits.
    fn ip6_hex(self, ip6: &str) -> String {
        match self {
            Dialect::Trino => format!("lower(to_hex(CAST({ip6} AS VARBINARY)))"),
            Dialect::Duckdb => ip6.to_string(),
        }
    }

    /// `regexp_replace(text, pattern, group)`: the text with a match replaced by the
    /// group's text.
    fn regexp_replace(self, text: &str, pattern: &str, group: u32) -> String {
        match self {
            Dialect::Trino => format!("regexp_replace({text}, {}, '${group}')", literal(pattern)),
            Dialect::Duckdb => format!("regexp_replace({text}, {}, '\\{group}')", literal(pattern)),
        }
    }

    /// Common table expressions the dialect needs before `checked` (reading `timed`);
    /// returns the name of the last one.
    fn ipv6_ctes(self, out: &mut String) -> &'static str {
        match self {
            Dialect::Trino => "timed",
            Dialect::Duckdb => {
                let v4 = "regexp_extract(ip, '[^:]*$')";
                let octets: Vec<String> = (1..=4)
                    .map(|i| format!("CAST(split_part({v4}, '.', {i}) AS INTEGER)"))
                    .collect();
                let _ = write!(
                    out,
                    "v6_text AS (\n  -- IPv6 without an embedded dotted quad, lower case\n  SELECT *,\n    CASE\n      WHEN strpos(ip, ':') = 0 THEN NULL\n      WHEN strpos(ip, '.') = 0 THEN lower(ip)\n      WHEN regexp_full_match({v4}, '{IPV4_RE}')\n        THEN lower(regexp_extract(ip, '^.*:')) || printf('%02x%02x:%02x%02x', {})\n    END AS v6\n  FROM timed\n),\n",
                    octets.join(", ")
                );
                let groups = |x: &str| {
                    format!(
                        "CASE WHEN {x} = '' THEN 0 ELSE length({x}) - length(replace({x}, ':', '')) + 1 END"
                    )
                };
                let head = "split_part(v6, '::', 1)";
                let tail = "split_part(v6, '::', 2)";
                let _ = write!(
                    out,
                    "v6_full AS (\n  -- '::' expanded to the zero groups it stands for (at least one)\n  SELECT *,\n    CASE\n      WHEN v6 IS NULL THEN NULL\n      WHEN strpos(v6, '::') = 0 THEN v6\n      WHEN strpos(substr(v6, strpos(v6, '::') + 1), '::') > 0 THEN NULL\n      ELSE concat_ws(':', NULLIF({head}, ''),\n        rtrim(repeat('0:', 8 - ({}) - ({})), ':'),\n        NULLIF({tail}, ''))\n    END AS v6_groups\n  FROM v6_text\n),\n",
                    groups(head),
                    groups(tail)
                );
                "v6_full"
            }
        }
    }

    /// The IPv6 column of `checked`: NULL unless `ip` is a valid IPv6 address.
    fn ipv6_value(self) -> String {
        match self {
            Dialect::Trino => {
                "CASE WHEN strpos(ip, ':') > 0 THEN TRY_CAST(ip AS IPADDRESS) END".to_string()
            }
            Dialect::Duckdb => {
                let hex: Vec<String> = (1..=8)
                    .map(|i| format!("lpad(split_part(v6_groups, ':', {i}), 4, '0')"))
                    .collect();
                format!(
                    "CASE WHEN regexp_full_match(v6_groups, '(?:[0-9a-f]{{1,4}}:){{7}}[0-9a-f]{{1,4}}')\n      THEN {} END",
                    hex.join("\n        || ")
                )
            }
        }
    }

    /// Is the valid IPv6 address `ip6` in one of `ranges`? IPv4 ranges also hold their
    /// IPv4-mapped addresses (`::ffff:10.1.2.3`), as in [`crate::classify`].
    fn ipv6_private(self, ranges: &[IpNet]) -> Vec<String> {
        match self {
            Dialect::Trino => ranges
                .iter()
                .map(|net| format!("contains({}, ip6)", literal(&net.to_string())))
                .collect(),
            Dialect::Duckdb => ranges
                .iter()
                .map(|net| {
                    let (hex, len) = match net {
                        IpNet::V4(n) => (
                            format!("00000000000000000000ffff{:08x}", u32::from(n.network())),
                            96 + u32::from(n.prefix_len()),
                        ),
                        IpNet::V6(n) => (
                            format!("{:032x}", u128::from(n.network())),
                            u32::from(n.prefix_len()),
                        ),
                    };
                    hex_prefix("ip6", &hex, len, net)
                })
                .collect(),
        }
    }
}

/// `column` (32 lowercase hex digits) starts with the first `len` bits of `hex`.
fn hex_prefix(column: &str, hex: &str, len: u32, net: &IpNet) -> String {
    let full = (len / 4) as usize;
    let rest = len % 4;
    let mut test = Vec::new();
    if full > 0 {
        test.push(format!("substr({column}, 1, {full}) = '{}'", &hex[..full]));
    }
    if rest > 0 {
        let nibble = u32::from_str_radix(&hex[full..=full], 16).expect("hex digit");
        let span = 1 << (4 - rest);
        let lo = nibble & !(span - 1) & 0xf;
        test.push(format!(
            "strpos('0123456789abcdef', substr({column}, {}, 1)) - 1 BETWEEN {lo} AND {}",
            full + 1,
            lo + span - 1
        ));
    }
    if test.is_empty() {
        test.push(format!("{column} IS NOT NULL"));
    }
    format!("({}) -- {net}", test.join(" AND "))
}

impl Dialect {
    /// The text at `path` (`$.bucketName`) of the JSON text in `column`.
    fn json_text(self, column: &str, path: &str) -> String {
        match self {
            Dialect::Trino => format!("json_extract_scalar({column}, '{path}')"),
            Dialect::Duckdb => format!("json_extract_string({column}, '{path}')"),
        }
    }

    /// The ARN of the first `AWS::S3::Bucket` in `resources`.
    fn bucket_resource_arn(self) -> &'static str {
        match self {
            Dialect::Trino => {
                "element_at(filter(resources, r -> r.type = 'AWS::S3::Bucket'), 1).arn"
            }
            Dialect::Duckdb => {
                "list_filter(resources, lambda r: r.type = 'AWS::S3::Bucket')[1].arn"
            }
        }
    }
}

/// What the table holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    /// S3 server access logs ([`super::ddl`]).
    AccessLogs,
    /// CloudTrail log files ([`super::cloudtrail`]).
    CloudTrail,
}

/// A query over one table with one configuration.
#[derive(Clone, Debug)]
pub struct Query<'a> {
    table: &'a Table,
    settings: &'a Settings,
    dialect: Dialect,
    source: Source,
}

impl<'a> Query<'a> {
    /// The audit of `settings` over `table`, written for `dialect`.
    pub fn new(table: &'a Table, settings: &'a Settings, dialect: Dialect) -> Self {
        Query {
            table,
            settings,
            dialect,
            source: Source::AccessLogs,
        }
    }

    /// The same over a CloudTrail table ([`super::cloudtrail`]): its S3 requests, with
    /// the VPC endpoint of each.
    pub fn cloudtrail(self) -> Self {
        Query {
            source: Source::CloudTrail,
            ..self
        }
    }

    /// `WITH … classified AS (…)` followed by `rest`: more common table expressions
    /// (starting with `,`) and the final `SELECT` over the classified rows (columns
    /// `path`, `bucket`, `requester`, `operation`, `key`, `ip`, `ip4` (an IPv4 address as
    /// an integer), `ip6` (an IPv6 address: `IPADDRESS` on Trino, 32 hex digits on
    /// DuckDB), `status`, `code`, `bytes`, `vpce` (CloudTrail's endpoint; NULL for access logs),
    /// `t` in epoch seconds, `ok`, `matched`, `class` (private when `vpce` is known), `outcome`: allowed, denied or rejected, as
    /// [`crate::classify::Outcome`] decides).
    pub fn with_classified(&self, rest: &str) -> String {
        let d = self.dialect;
        let mut q = String::from("WITH\n");
        match self.source {
            Source::AccessLogs => self.source_rows(&mut q),
            Source::CloudTrail => self.cloudtrail_rows(&mut q),
        }
        let yy = "yy";
        let month_days = "CASE WHEN mo = 2 THEN CASE WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 ELSE 28 END WHEN mo IN (4, 6, 9, 11) THEN 30 ELSE 31 END";
        let era = d.idiv(yy, "400");
        let yoe = format!("({yy} % 400)");
        let days = format!(
            "({era}) * 146097 + {yoe} * 365 + {} - {} + {} + d - 1 - 865565",
            d.idiv(&yoe, "4"),
            d.idiv(&yoe, "100"),
            d.idiv("(153 * ((mo + 9) % 12) + 2)", "5"),
        );
        let _ = write!(
            q,
            "civil AS (\n  -- the year shifted to start in March and by one 400-year era, so that\n  -- every operand of the day arithmetic below is non-negative\n  SELECT *, y - CASE WHEN mo <= 2 THEN 1 ELSE 0 END + 400 AS yy\n  FROM source_rows\n),\ntimed AS (\n  -- seconds since the epoch, UTC; NULL unless a real date and time\n  SELECT *,\n    CASE WHEN y IS NOT NULL AND mo IS NOT NULL\n        AND d BETWEEN 1 AND {month_days}\n        AND hh <= 23 AND mi <= 59 AND ss <= 60 AND oh <= 23 AND om <= 59\n      THEN ({days}) * 86400 + hh * 3600 + mi * 60 + ss\n        - CASE osign WHEN '-' THEN -1 ELSE 1 END * (oh * 3600 + om * 60)\n    END AS t\n  FROM civil\n),\n"
        );
        let before_checked = d.ipv6_ctes(&mut q);
        let octet = |i: u32| format!("TRY_CAST(split_part(ip, '.', {i}) AS BIGINT)");
        let _ = write!(
            q,
            "checked AS (\n  SELECT *,\n    CASE WHEN ip <> '-' AND strpos(ip, ':') = 0\n      THEN {} * 16777216 + {} * 65536 + {} * 256 + {}\n    END AS ip4,\n    {} AS ip6\n  FROM {before_checked}\n),\n",
            octet(1),
            octet(2),
            octet(3),
            octet(4),
            d.ipv6_value()
        );
        let ranges = self.settings.classifier.ranges();
        let mut private: Vec<String> = ranges
            .iter()
            .filter_map(|net| match net {
                IpNet::V4(n) => Some(format!(
                    "ip4 BETWEEN {} AND {} -- {net}",
                    u32::from(n.network()),
                    u32::from(n.broadcast())
                )),
                IpNet::V6(_) => None,
            })
            .collect();
        let v6: Vec<IpNet> = ranges
            .iter()
            .filter(|n| matches!(n, IpNet::V6(_)))
            .chain(ranges.iter().filter(|n| matches!(n, IpNet::V4(_))))
            .copied()
            .collect();
        private.extend(d.ipv6_private(&v6));
        let _ = write!(
            q,
            "classified AS (\n  SELECT path, bucket, requester, operation, key, ip, ip4, ip6, status, code, bytes, vpce, t, ok,\n    coalesce(ok AND {}, false) AS matched,\n    CASE\n      WHEN vpce IS NOT NULL THEN 'private'\n      WHEN ip = '-' THEN 'internal'\n      WHEN {}\n        THEN 'private'\n      ELSE 'public'\n    END AS class,\n    CASE\n      WHEN code IN ({}) THEN 'rejected'\n      WHEN status = '403' AND (code = 'AccessDenied' OR code = 'VpceAccessDenied' OR code = '-') THEN 'denied'\n      ELSE 'allowed'\n    END AS outcome\n  FROM (\n    SELECT *,\n      coalesce(t IS NOT NULL AND (ip = '-' OR ip4 IS NOT NULL OR ip6 IS NOT NULL), false) AS ok\n    FROM checked\n  ) AS rows_checked\n)",
            self.filter(),
            private.join("\n        OR "),
            REFUSED_BEFORE_POLICY
                .iter()
                .map(|c| literal(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        q.push_str(rest);
        q
    }

    /// The whole report as rows (columns [`RESULT_COLUMNS`]): one per bucket and window
    /// (`kind = 'window'`), per bucket (`'bucket'`, distinct addresses over all
    /// windows), one `'total'` row with the line accounting and the configuration, and
    /// the parts that need single requests: per bucket and requester (`'requester'`,
    /// with its first and last public request), its top public addresses
    /// (`'requester_ip'`), the bucket's top public addresses (`'public_ip'`) and
    /// private addresses denied through the endpoint (`'denied_private_ip'`), and every
    /// switch between the endpoint and the internet (`'transition'`, by the rule of
    /// [`crate::report`]: `LAG()` over each requester's first request per window and
    /// network, and the last one when it switched back).
    pub fn timeline(&self) -> String {
        let d = self.dialect;
        let iv = self.settings.interval;
        let filter = &self.settings.filter;
        let when = |cond: &str| format!("sum(CASE WHEN matched{cond} THEN 1 ELSE 0 END)");
        let distinct = |class: &str| {
            format!("count(DISTINCT CASE WHEN matched AND class = '{class}' THEN ip END)")
        };
        let epoch = |v: Option<i64>| {
            v.map_or_else(
                || "CAST(NULL AS BIGINT)".to_string(),
                |e| format!("{e} /* {} */", rfc3339(e)),
            )
        };
        let ranges: Vec<String> = self
            .settings
            .classifier
            .ranges()
            .iter()
            .map(ToString::to_string)
            .collect();
        let total = |expr: &str| format!("CASE WHEN level = 3 THEN {expr} END");
        let counts = |prefix: &str| {
            format!(
                "{} AS requests,\n    {} AS private,\n    {} AS private_denied,\n    {} AS public,\n    {} AS internal,\n    {} AS public_denied,\n    {} AS public_rejected,\n    sum(CASE WHEN matched THEN coalesce(bytes, 0) ELSE 0 END) AS bytes_sent,\n    min(CASE WHEN matched THEN t END) AS {prefix}first_epoch,\n    max(CASE WHEN matched THEN t END) AS {prefix}last_epoch",
                when(""),
                when(" AND class = 'private'"),
                when(" AND class = 'private' AND outcome = 'denied'"),
                when(" AND class = 'public'"),
                when(" AND class = 'internal'"),
                when(" AND class = 'public' AND outcome = 'denied'"),
                when(" AND class = 'public' AND outcome = 'rejected'"),
            )
        };
        let principal = d.regexp_replace(
            "requester",
            "^(arn:[^:]*:[^:]*:[^:]*:[^:]*:assumed-role/[^/]*)/.*$",
            1,
        );
        let mut s = String::new();
        let _ = write!(
            s,
            ",\nkeyed AS (\n  SELECT *,\n    CASE WHEN matched THEN bucket END AS k_bucket,\n    CASE WHEN matched THEN {} END AS k_window,\n    -- the principal: an assumed role without its session, 'anonymous' for '-'\n    CASE WHEN requester = '-' THEN 'anonymous' ELSE {principal} END AS who,\n    -- orders addresses as the local report does: IPv4 by value, then IPv6\n    CASE WHEN ip4 IS NOT NULL THEN '4' || lpad(CAST(ip4 AS VARCHAR), 10, '0')\n      ELSE '6' || {} END AS ip_key\n  FROM classified\n),\ngrouped AS (\n  SELECT\n    grouping(k_bucket, k_window) AS level,\n    k_bucket,\n    k_window,\n    count(*) AS all_rows,\n    sum(CASE WHEN ok THEN 0 ELSE 1 END) AS not_ok,\n    count(DISTINCT path) AS paths,\n    {},\n    {} AS distinct_private_ips,\n    {} AS distinct_public_ips\n  FROM keyed\n  GROUP BY GROUPING SETS ((k_bucket, k_window), (k_bucket), ())\n),\n",
            self.window_start("t"),
            d.ip6_hex("ip6"),
            counts(""),
            distinct("private"),
            distinct("public"),
        );
        let _ = write!(
            s,
            "requesters AS (\n  SELECT\n    k_bucket,\n    who,\n    {},\n    min(CASE WHEN class = 'public' THEN t END) AS first_public_epoch,\n    max(CASE WHEN class = 'public' THEN t END) AS last_public_epoch\n  FROM keyed\n  WHERE matched\n  GROUP BY k_bucket, who\n),\n",
            counts("")
        );
        s.push_str(
            "addresses AS (\n  -- top public addresses per requester and per bucket, private ones denied\n  SELECT kind, k_bucket, who, ip, n,\n    row_number() OVER (PARTITION BY kind, k_bucket, who ORDER BY n DESC, ip) AS place\n  FROM (\n    SELECT 'requester_ip' AS kind, k_bucket, who, ip, count(*) AS n\n    FROM keyed WHERE matched AND class = 'public'\n    GROUP BY k_bucket, who, ip\n    UNION ALL\n    SELECT 'public_ip', k_bucket, CAST(NULL AS VARCHAR), ip, count(*)\n    FROM keyed WHERE matched AND class = 'public'\n    GROUP BY k_bucket, ip\n    UNION ALL\n    SELECT 'denied_private_ip', k_bucket, CAST(NULL AS VARCHAR), ip, count(*)\n    FROM keyed WHERE matched AND class = 'private' AND outcome = 'denied'\n    GROUP BY k_bucket, ip\n  ) AS counted\n),\n",
        );
        s.push_str(
            "ends AS (\n  -- each requester's first and last request per window and network\n  SELECT k_bucket, who, k_window, class, t, ip_key, ip,\n    row_number() OVER (PARTITION BY k_bucket, who, k_window, class ORDER BY t, ip_key) AS from_start,\n    row_number() OVER (PARTITION BY k_bucket, who, k_window, class ORDER BY t DESC, ip_key DESC) AS from_end\n  FROM keyed\n  WHERE matched AND class IN ('private', 'public')\n),\ncells AS (\n  SELECT f.k_bucket, f.who, f.k_window, f.class,\n    f.t AS first_t, f.ip_key AS first_key, f.ip AS first_ip,\n    l.t AS last_t, l.ip_key AS last_key, l.ip AS last_ip\n  FROM ends AS f\n  JOIN ends AS l ON f.k_bucket = l.k_bucket AND f.who = l.who AND f.k_window = l.k_window\n    AND f.class = l.class AND l.from_end = 1\n  WHERE f.from_start = 1\n),\nmarkers AS (\n  -- the first request on each network in a window, and the last one on the network\n  -- that came first there when the window ends on it again\n  SELECT k_bucket, who, class, first_t AS t, first_key AS ip_key, first_ip AS ip\n  FROM cells\n  UNION ALL\n  SELECT a.k_bucket, a.who, a.class, a.last_t, a.last_key, a.last_ip\n  FROM cells AS a\n  JOIN cells AS b ON a.k_bucket = b.k_bucket AND a.who = b.who AND a.k_window = b.k_window\n    AND a.class <> b.class\n  WHERE (a.first_t < b.first_t OR (a.first_t = b.first_t AND a.first_key < b.first_key))\n    AND (a.last_t > b.last_t OR (a.last_t = b.last_t AND a.last_key > b.last_key))\n),\nswitches AS (\n  SELECT *, lag(class) OVER (PARTITION BY k_bucket, who ORDER BY t, ip_key) AS previous\n  FROM markers\n)\n",
        );
        // Every part of the result has every column.
        let null_int = "CAST(NULL AS BIGINT)";
        let null_text = "CAST(NULL AS VARCHAR)";
        let columns = |values: &[(&str, String)]| -> String {
            RESULT_COLUMNS
                .iter()
                .map(|c| {
                    let v = values.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone());
                    let v = v.unwrap_or_else(|| {
                        if TEXT_COLUMNS.contains(c) {
                            null_text.to_string()
                        } else {
                            null_int.to_string()
                        }
                    });
                    format!("  {v} AS {c}")
                })
                .collect::<Vec<_>>()
                .join(",\n")
        };
        let count_values = |extra: &[(&'static str, String)]| {
            let mut v: Vec<(&str, String)> = [
                "requests",
                "private",
                "private_denied",
                "public",
                "internal",
                "public_denied",
                "public_rejected",
                "bytes_sent",
            ]
            .iter()
            .map(|c| (*c, format!("coalesce({c}, 0)")))
            .collect();
            v.push((
                "public_allowed",
                "coalesce(public, 0) - coalesce(public_denied, 0) - coalesce(public_rejected, 0)"
                    .to_string(),
            ));
            v.extend(extra.iter().cloned());
            v
        };
        let grouped_rows = columns(&count_values(&[
            (
                "kind",
                "CASE level WHEN 0 THEN 'window' WHEN 1 THEN 'bucket' ELSE 'total' END".into(),
            ),
            ("bucket", "k_bucket".into()),
            ("window_start", d.utc_text("k_window")),
            ("window_epoch", "k_window".into()),
            ("distinct_private_ips", "distinct_private_ips".into()),
            ("distinct_public_ips", "distinct_public_ips".into()),
            ("first_epoch", "first_epoch".into()),
            ("last_epoch", "last_epoch".into()),
            ("lines", total("all_rows")),
            ("rejected", total("coalesce(not_ok, 0)")),
            ("inputs", total("paths")),
            ("interval_seconds", total(&iv.to_string())),
            ("since_epoch", total(&epoch(filter.since))),
            ("until_epoch", total(&epoch(filter.until))),
            ("private_ranges", total(&literal(&ranges.join(" ")))),
            ("time_zone", total(&literal(self.settings.zone.name()))),
        ]));
        let requester_rows = columns(&count_values(&[
            ("kind", "'requester'".into()),
            ("bucket", "k_bucket".into()),
            ("requester", "who".into()),
            ("first_epoch", "first_epoch".into()),
            ("last_epoch", "last_epoch".into()),
            ("first_public_epoch", "first_public_epoch".into()),
            ("last_public_epoch", "last_public_epoch".into()),
        ]));
        let address_rows = columns(&[
            ("kind", "kind".into()),
            ("bucket", "k_bucket".into()),
            ("requester", "who".into()),
            ("address", "ip".into()),
            ("requests", "n".into()),
        ]);
        let transition_rows = columns(&[
            ("kind", "'transition'".into()),
            ("bucket", "k_bucket".into()),
            ("requester", "who".into()),
            ("address", "ip".into()),
            ("from_class", "previous".into()),
            ("to_class", "class".into()),
            ("at_epoch", "t".into()),
        ]);
        let _ = write!(
            s,
            "SELECT * FROM (\nSELECT\n{grouped_rows}\nFROM grouped\nWHERE level = 3 OR k_bucket IS NOT NULL\nUNION ALL\nSELECT\n{requester_rows}\nFROM requesters\nUNION ALL\nSELECT\n{address_rows}\nFROM addresses\nWHERE place <= CASE kind WHEN 'requester_ip' THEN {} ELSE {} END\nUNION ALL\nSELECT\n{transition_rows}\nFROM switches\nWHERE previous IS NOT NULL AND previous <> class\n) AS report\nORDER BY CASE kind WHEN 'total' THEN 0 WHEN 'bucket' THEN 1 WHEN 'window' THEN 2 ELSE 3 END,\n  bucket, kind, window_epoch, at_epoch, requester, requests DESC, address\n",
            TOP_REQUESTER_IPS, TOP,
        );
        self.with_classified(&s)
    }

    /// The start of the window holding the epoch `t`: a multiple of the interval (weeks
    /// from a Monday) in UTC, or cut from the local midnight in another zone, as
    /// [`Zone::window`] does.
    fn window_start(&self, t: &str) -> String {
        let iv = self.settings.interval;
        match self.settings.zone {
            Zone::Utc if iv == WEEK => {
                format!("{t} - ((({t} - {FIRST_MONDAY}) % {WEEK}) + {WEEK}) % {WEEK}")
            }
            Zone::Utc => format!("{t} - (({t} % {iv}) + {iv}) % {iv}"),
            zone => {
                let name = zone.name();
                let d = self.dialect;
                if iv == WEEK {
                    return d.local_start(t, name, "week");
                }
                // The day's usual number of windows; the last one ends at the next
                // midnight.
                let day = d.local_start(t, name, "day");
                let last = DAY / iv - 1;
                format!(
                    "({day}) + least({}, {last}) * {iv}",
                    d.idiv(&format!("({t} - ({day}))"), &iv.to_string())
                )
            }
        }
    }

    /// Every matched request with its class, like `vpce-audit requests` and the blog
    /// post's SELECT: one row per request (time, bucket, remote IP, class, outcome,
    /// requester, operation, key, status, error code, bytes sent, the log object),
    /// filtered by `filter` as the local listing is, in time order.
    pub fn requests(&self, filter: &RequestFilter) -> String {
        let d = self.dialect;
        let mut wheres = vec!["matched".to_string()];
        if !filter.classes.is_empty() {
            let names: Vec<String> = filter.classes.iter().map(|c| literal(c.name())).collect();
            wheres.push(format!("class IN ({})", names.join(", ")));
        }
        if !filter.statuses.is_empty() {
            let any: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| match s {
                    Status::Exactly(n) => format!("status = '{n}'"),
                    Status::Class(c) => format!("status LIKE '{c}__'"),
                })
                .collect();
            wheres.push(format!("({})", any.join(" OR ")));
        }
        if !filter.error_codes.is_empty() {
            let any: Vec<String> = filter
                .error_codes
                .iter()
                .map(|p| format!("code LIKE {} ESCAPE '\\'", like(p)))
                .collect();
            wheres.push(format!("code <> '-' AND ({})", any.join(" OR ")));
        }
        if !filter.requesters.is_empty() || !filter.accounts.is_empty() {
            let mut any: Vec<String> = filter
                .requesters
                .iter()
                .map(|p| {
                    let p = like(p);
                    format!("who LIKE {p} ESCAPE '\\' OR role LIKE {p} ESCAPE '\\'")
                })
                .collect();
            any.extend(filter.accounts.iter().map(|a| {
                format!(
                    "(who LIKE 'arn:%' AND split_part(who, ':', 5) = {})",
                    literal(a)
                )
            }));
            wheres.push(format!("({})", any.join(" OR ")));
        }
        if !filter.ranges.is_empty() {
            let v6: Vec<IpNet> = filter
                .ranges
                .iter()
                .filter(|n| matches!(n, IpNet::V6(_)))
                .copied()
                .collect();
            let mut any: Vec<String> = filter
                .ranges
                .iter()
                .filter_map(|net| match net {
                    IpNet::V4(n) => Some(format!(
                        "ip4 BETWEEN {} AND {} -- {net}",
                        u32::from(n.network()),
                        u32::from(n.broadcast())
                    )),
                    IpNet::V6(_) => None,
                })
                .collect();
            any.extend(d.ipv6_private(&v6));
            // Each test may end with a `--` comment: the parenthesis on a line of its own.
            wheres.push(format!("(\n    {}\n  )", any.join("\n    OR ")));
        }
        let role = d.regexp_replace(
            "who",
            "^(arn:[^:]*:[^:]*:[^:]*:[^:]*:assumed-role/[^/]*)/.*$",
            1,
        );
        let rest = format!(
            ",\nnamed AS (\n  SELECT *,\n    CASE WHEN requester = '-' THEN 'anonymous' ELSE requester END AS who\n  FROM classified\n),\nlisted AS (\n  SELECT *, {role} AS role\n  FROM named\n)\nSELECT\n  {} AS time,\n  bucket,\n  ip AS remote_ip,\n  class,\n  outcome,\n  who AS requester,\n  operation,\n  key,\n  status AS http_status,\n  code AS error_code,\n  bytes AS bytes_sent,\n  path AS source\nFROM listed\nWHERE {}\nORDER BY t, path, ip\n",
            d.utc_text("t"),
            wheres.join("\n  AND ")
        );
        self.with_classified(&rest)
    }

    fn source_rows(&self, q: &mut String) {
        let field = |from: u32, len: u32| {
            format!("TRY_CAST(substr(requestdatetime, {from}, {len}) AS BIGINT)")
        };
        let months: Vec<String> = MONTHS
            .iter()
            .enumerate()
            .map(|(i, m)| format!("WHEN '{m}' THEN {}", i + 1))
            .collect();
        let _ = write!(
            q,
            "source_rows AS (\n  -- one row per log line; a line the table's regular expression rejects has\n  -- every column NULL\n  SELECT\n    \"$path\" AS path,\n    bucket_name AS bucket,\n    requester,\n    operation,\n    \"key\" AS key,\n    remoteip AS ip,\n    httpstatus AS status,\n    errorcode AS code,\n    bytessent AS bytes,\n    CAST(NULL AS VARCHAR) AS vpce,\n    -- requestdatetime is like 06/Feb/2019:00:00:38 +0000\n    {} AS y,\n    CASE substr(requestdatetime, 4, 3) {} END AS mo,\n    {} AS d,\n    {} AS hh,\n    {} AS mi,\n    {} AS ss,\n    substr(requestdatetime, 22, 1) AS osign,\n    {} AS oh,\n    {} AS om\n  FROM {}\n",
            field(8, 4),
            months.join(" "),
            field(1, 2),
            field(13, 2),
            field(16, 2),
            field(19, 2),
            field(23, 2),
            field(25, 2),
            self.table.quoted(),
        );
        let pruning = self.pruning();
        if !pruning.is_empty() {
            let _ = writeln!(
                q,
                "  -- partition projection: only these prefixes are listed and read\n  WHERE {}",
                pruning.join("\n    AND ")
            );
        }
        q.push_str("),\n");
    }

    /// CloudTrail's S3 requests to a bucket, in the columns of the access log rows.
    fn cloudtrail_rows(&self, q: &mut String) {
        let d = self.dialect;
        let param = |path| d.json_text("requestparameters", path);
        let field =
            |from: u32, len: u32| format!("TRY_CAST(substr(eventtime, {from}, {len}) AS BIGINT)");
        let _ = write!(
            q,
            "source_rows AS (\n  -- one row per S3 request to a bucket; other services' events and S3 calls on\n  -- no bucket are skipped, as the local report skips them\n  SELECT * FROM (\n    SELECT\n      \"$path\" AS path,\n      coalesce({}, regexp_extract({}, '^arn:[^:]*:s3:::(.*)$', 1)) AS bucket,\n      coalesce(useridentity.arn, useridentity.invokedby, useridentity.accountid) AS requester,\n      eventname AS operation,\n      {} AS key,\n      -- an AWS service's call has no address: internal\n      CASE WHEN sourceipaddress = 'AWS Internal' OR sourceipaddress LIKE '%.amazonaws.com' THEN '-'\n        ELSE sourceipaddress END AS ip,\n      CASE WHEN errorcode IN ('AccessDenied', 'VpceAccessDenied') THEN '403' ELSE '-' END AS status,\n      coalesce(errorcode, '-') AS code,\n      TRY_CAST(TRY_CAST({} AS DOUBLE) AS BIGINT) AS bytes,\n      vpcendpointid AS vpce,\n      -- a request CloudTrail logged twice (a data event and its network activity event)\n      -- counts once, as locally: the data event, else the first by file and time\n      CASE WHEN requestid IS NULL THEN 1\n        ELSE row_number() OVER (PARTITION BY requestid\n          ORDER BY CASE WHEN eventtype = 'AwsVpceEvent' THEN 1 ELSE 0 END, \"$path\", eventtime, eventid) END AS copy,\n      -- eventtime is like 2022-05-09T10:32:05Z\n      {} AS y,\n      {} AS mo,\n      {} AS d,\n      {} AS hh,\n      {} AS mi,\n      {} AS ss,\n      '+' AS osign,\n      0 AS oh,\n      0 AS om\n    FROM {}\n    WHERE eventsource = 's3.amazonaws.com'",
            param("$.bucketName"),
            d.bucket_resource_arn(),
            param("$.key"),
            d.json_text("additionaleventdata", "$.bytesTransferredOut"),
            field(1, 4),
            field(6, 2),
            field(9, 2),
            field(12, 2),
            field(15, 2),
            field(18, 2),
            self.table.quoted(),
        );
        let filter = &self.settings.filter;
        let day = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|t| t.format("%Y/%m/%d").to_string())
                .unwrap_or_default()
        };
        if let Some(since) = filter.since {
            let _ = write!(q, "\n      -- partition projection: only these days are read\n      AND \"timestamp\" >= '{}'", day(since.saturating_sub(86_400)));
        }
        if let Some(until) = filter.until {
            let _ = write!(
                q,
                "\n      AND \"timestamp\" <= '{}'",
                day(until.saturating_add(86_400 - 1))
            );
        }
        q.push_str(
            "\n  ) AS s3_rows\n  WHERE bucket IS NOT NULL AND bucket <> '' AND copy = 1\n),\n",
        );
    }

    /// The per-bucket breakdown of a CloudTrail table: one row per bucket and window
    /// (`kind = 'window'`), per bucket and VPC endpoint (`'endpoint'`: requests,
    /// denials, first and last), per bucket (`'bucket'`) and a `'total'`; columns
    /// `kind`, `bucket`, `endpoint`, `window_start`, `window_epoch`, `requests`,
    /// `private`, `private_denied`, `public`, `internal`, `public_denied`,
    /// `public_rejected`, `public_allowed`, `endpoint_policy_denied`, `bytes_sent`,
    /// `first_epoch`, `last_epoch`. What the local report of the same CloudTrail files
    /// says in `buckets[].timeline` and `buckets[].endpoints`.
    pub fn endpoint_breakdown(&self) -> String {
        let d = self.dialect;
        let iv = self.settings.interval;
        let when = |cond: &str| format!("sum(CASE WHEN matched{cond} THEN 1 ELSE 0 END)");
        let mut s = String::new();
        let _ = write!(
            s,
            ",\nkeyed AS (\n  SELECT *,\n    CASE WHEN matched THEN bucket END AS k_bucket,\n    CASE WHEN matched THEN t - ((t % {iv}) + {iv}) % {iv} END AS k_window,\n    CASE WHEN matched THEN vpce END AS k_vpce\n  FROM classified\n),\ngrouped AS (\n  SELECT\n    grouping(k_bucket, k_window, k_vpce) AS level,\n    k_bucket,\n    k_window,\n    k_vpce,\n    {} AS requests,\n    {} AS private,\n    {} AS private_denied,\n    {} AS public,\n    {} AS internal,\n    {} AS public_denied,\n    {} AS public_rejected,\n    {} AS endpoint_policy_denied,\n    sum(CASE WHEN matched THEN coalesce(bytes, 0) ELSE 0 END) AS bytes_sent,\n    min(CASE WHEN matched THEN t END) AS first_epoch,\n    max(CASE WHEN matched THEN t END) AS last_epoch\n  FROM keyed\n  GROUP BY GROUPING SETS ((k_bucket, k_window), (k_bucket, k_vpce), (k_bucket), ())\n)\n",
            when(""),
            when(" AND class = 'private'"),
            when(" AND class = 'private' AND outcome = 'denied'"),
            when(" AND class = 'public'"),
            when(" AND class = 'internal'"),
            when(" AND class = 'public' AND outcome = 'denied'"),
            when(" AND class = 'public' AND outcome = 'rejected'"),
            when(" AND code = 'VpceAccessDenied'"),
        );
        let _ = write!(
            s,
            "SELECT\n  CASE level WHEN 1 THEN 'window' WHEN 2 THEN 'endpoint' WHEN 3 THEN 'bucket' ELSE 'total' END AS kind,\n  k_bucket AS bucket,\n  k_vpce AS endpoint,\n  CASE WHEN level = 1 THEN {} END AS window_start,\n  k_window AS window_epoch,\n  coalesce(requests, 0) AS requests,\n  coalesce(private, 0) AS private,\n  coalesce(private_denied, 0) AS private_denied,\n  coalesce(public, 0) AS public,\n  coalesce(internal, 0) AS internal,\n  coalesce(public_denied, 0) AS public_denied,\n  coalesce(public_rejected, 0) AS public_rejected,\n  coalesce(public, 0) - coalesce(public_denied, 0) - coalesce(public_rejected, 0) AS public_allowed,\n  coalesce(endpoint_policy_denied, 0) AS endpoint_policy_denied,\n  coalesce(bytes_sent, 0) AS bytes_sent,\n  first_epoch,\n  last_epoch\nFROM grouped\nWHERE level = 7 OR (k_bucket IS NOT NULL AND (level <> 2 OR k_vpce IS NOT NULL))\nORDER BY level DESC, k_bucket, k_vpce, k_window\n",
            d.utc_text("k_window"),
        );
        self.with_classified(&s)
    }

    /// Partition predicates: the days around `--since/--until` (a log object may hold
    /// requests of the day before its key's date, and offsets move dates) and the
    /// `--bucket` prefixes. Only for the partitioned layout.
    fn pruning(&self) -> Vec<String> {
        if self.table.layout != Layout::Partitioned {
            return Vec::new();
        }
        let filter = &self.settings.filter;
        let day = |secs: i64| {
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|t| t.format("%Y/%m/%d").to_string())
                .unwrap_or_default()
        };
        let mut p = Vec::new();
        if let Some(since) = filter.since {
            p.push(format!("dt >= '{}'", day(since.saturating_sub(86_400))));
        }
        if let Some(until) = filter.until {
            p.push(format!("dt <= '{}'", day(until.saturating_add(86_400 - 1))));
        }
        if !filter.buckets.is_empty() {
            p.push(format!("source_bucket IN ({})", in_list(&filter.buckets)));
        }
        p
    }

    /// The record filter of [`crate::filter::Filter`] on a checked row.
    fn filter(&self) -> String {
        let f = &self.settings.filter;
        let mut parts = Vec::new();
        if let Some(since) = f.since {
            parts.push(format!("t >= {since} /* {} */", rfc3339(since)));
        }
        if let Some(until) = f.until {
            parts.push(format!("t < {until} /* {} */", rfc3339(until)));
        }
        if !f.buckets.is_empty() {
            parts.push(format!("bucket IN ({})", in_list(&f.buckets)));
        }
        if !f.operations.is_empty() {
            parts.push(format!("operation IN ({})", in_list(&f.operations)));
        }
        if parts.is_empty() {
            "true".to_string()
        } else {
            parts.join(" AND ")
        }
    }
}

/// An IAM-style wildcard pattern (`*`, `?`) as a LIKE pattern with `\` as escape.
fn like(pattern: &str) -> String {
    let mut out = String::new();
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    literal(&out)
}

fn in_list(values: &[Vec<u8>]) -> String {
    values
        .iter()
        .map(|v| literal(&String::from_utf8_lossy(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Classifier;
    use crate::filter::Filter;

    fn settings(extra: &[&str], filter: Filter) -> Settings {
        let extra: Vec<IpNet> = extra.iter().map(|s| s.parse().unwrap()).collect();
        Settings {
            classifier: Classifier::new(&extra),
            filter,
            interval: 300,
            hashes: Default::default(),
            zone: crate::time::Zone::Utc,
            regions: false,
        }
    }

    #[test]
    fn ipv4_ranges_are_integer_intervals_in_both_dialects() {
        let t = Table::new("db", "logs", Layout::Simple).unwrap();
        let s = settings(&["198.19.0.0/16"], Filter::default());
        for d in [Dialect::Trino, Dialect::Duckdb] {
            let q = Query::new(&t, &s, d).timeline();
            assert!(q.contains("ip4 BETWEEN 167772160 AND 184549375 -- 10.0.0.0/8"));
            assert!(q.contains("ip4 BETWEEN 3323133952 AND 3323199487 -- 198.19.0.0/16"));
            assert!(q.contains("t - ((t % 300) + 300) % 300"));
            assert!(q.contains("FROM \"db\".\"logs\"\n),"), "no pruning: {q}");
        }
    }

    #[test]
    fn ipv6_branch_per_dialect() {
        let t = Table::new("db", "logs", Layout::Simple).unwrap();
        let s = settings(&["2600:1f18:abcd::/48"], Filter::default());
        let trino = Query::new(&t, &s, Dialect::Trino).timeline();
        assert!(trino.contains("contains('fc00::/7', ip6)"));
        assert!(trino.contains("contains('2600:1f18:abcd::/48', ip6)"));
        assert!(trino.contains("contains('10.0.0.0/8', ip6)"), "mapped IPv4");
        assert!(trino.contains("TRY_CAST(ip AS IPADDRESS)"));
        let duck = Query::new(&t, &s, Dialect::Duckdb).timeline();
        // fc00::/7: the nibble f, then c (1100) with its last bit free.
        assert!(duck.contains(
            "(substr(ip6, 1, 1) = 'f' AND strpos('0123456789abcdef', substr(ip6, 2, 1)) - 1 BETWEEN 12 AND 13) -- fc00::/7"
        ));
        assert!(duck.contains("(substr(ip6, 1, 12) = '26001f18abcd') -- 2600:1f18:abcd::/48"));
        assert!(duck.contains("(substr(ip6, 1, 26) = '00000000000000000000ffff0a') -- 10.0.0.0/8"));
        assert!(!duck.contains("IPADDRESS"));
    }

    #[test]
    fn hex_prefixes_cover_exactly_the_range() {
        let net: IpNet = "100.64.0.0/10".parse().unwrap();
        // 96 + 10 bits: 26 nibbles, then the top two bits of 0x4 (0100) fixed.
        assert_eq!(
            hex_prefix("c", "00000000000000000000ffff64400000", 106, &net),
            "(substr(c, 1, 26) = '00000000000000000000ffff64' AND strpos('0123456789abcdef', substr(c, 27, 1)) - 1 BETWEEN 4 AND 7) -- 100.64.0.0/10"
        );
    }

    #[test]
    fn filters_and_partition_pruning() {
        let t = Table::new("db", "logs", Layout::Partitioned).unwrap();
        let f = Filter {
            buckets: vec![b"a'b".to_vec()],
            since: Some(1_652_054_400), // 2022-05-09T00:00:00Z
            until: Some(1_652_140_800), // 2022-05-10T00:00:00Z
            operations: vec![b"REST.GET.OBJECT".to_vec()],
        };
        let s = settings(&[], f);
        let q = Query::new(&t, &s, Dialect::Trino).timeline();
        assert!(q.contains("WHERE dt >= '2022/05/08'\n    AND dt <= '2022/05/10'\n    AND source_bucket IN ('a''b')"));
        assert!(q.contains(
            "coalesce(ok AND t >= 1652054400 /* 2022-05-09T00:00:00Z */ AND t < 1652140800 /* 2022-05-10T00:00:00Z */ AND bucket IN ('a''b') AND operation IN ('REST.GET.OBJECT'), false) AS matched"
        ));
        assert!(q.contains("THEN 1652054400 /* 2022-05-09T00:00:00Z */ END AS since_epoch"));
    }

    #[test]
    fn the_cloudtrail_breakdown_classifies_by_endpoint_first() {
        let t = Table::new("db", "trail", Layout::Simple).unwrap();
        let f = Filter {
            since: Some(1_652_054_400), // 2022-05-09T00:00:00Z
            ..Filter::default()
        };
        let s = settings(&[], f);
        for d in [Dialect::Trino, Dialect::Duckdb] {
            let q = Query::new(&t, &s, d).cloudtrail().endpoint_breakdown();
            assert!(q.contains(
                "WHEN vpce IS NOT NULL THEN 'private'\n      WHEN ip = '-' THEN 'internal'"
            ));
            assert!(q.contains("WHERE eventsource = 's3.amazonaws.com'"));
            assert!(q.contains("AND \"timestamp\" >= '2022/05/08'"), "{q}");
            assert!(q.contains(
                "GROUPING SETS ((k_bucket, k_window), (k_bucket, k_vpce), (k_bucket), ())"
            ));
        }
        let access = Query::new(&t, &s, Dialect::Trino).timeline();
        assert!(access.contains("CAST(NULL AS VARCHAR) AS vpce"));
    }

    #[test]
    fn the_request_listing_filters_like_the_local_one() {
        let t = Table::new("db", "logs", Layout::Simple).unwrap();
        let s = settings(&[], Filter::default());
        let f = RequestFilter::new(
            vec![crate::classify::Class::Public],
            &["403".into(), "5xx".into()],
            vec!["Access*".into()],
            &[
                "arn:aws:sts::*:assumed-role/ec2_?".into(),
                "111122223333".into(),
            ],
            &["52.79.0.0/16".into(), "2600:1f18::/32".into()],
        )
        .unwrap();
        let trino = Query::new(&t, &s, Dialect::Trino).requests(&f);
        assert!(trino.contains("class IN ('public')"), "{trino}");
        assert!(trino.contains("(status = '403' OR status LIKE '5__')"));
        assert!(trino.contains("code LIKE 'Access%' ESCAPE '\\'"));
        assert!(trino.contains("who LIKE 'arn:aws:sts::%:assumed-role/ec2\\__' ESCAPE '\\'"));
        assert!(trino.contains("split_part(who, ':', 5) = '111122223333'"));
        assert!(trino.contains("ip4 BETWEEN 877592576 AND 877658111 -- 52.79.0.0/16"));
        assert!(trino.contains("contains('2600:1f18::/32', ip6)"));
        assert!(trino.contains("'$1') AS role"));
        let duck = Query::new(&t, &s, Dialect::Duckdb).requests(&f);
        assert!(duck.contains("'\\1') AS role"), "{duck}");
    }

    #[test]
    fn trino_divides_integers_with_a_slash_duckdb_with_two() {
        let t = Table::new("db", "logs", Layout::Simple).unwrap();
        let s = settings(&[], Filter::default());
        assert!(Query::new(&t, &s, Dialect::Trino)
            .timeline()
            .contains("(yy % 400) / 4"));
        assert!(Query::new(&t, &s, Dialect::Duckdb)
            .timeline()
            .contains("(yy % 400) // 4"));
    }
}
