//! A listing-only S3 stand-in on 127.0.0.1 with a generated key space, for
//! `benches/compare_s3.sh`: the listing of a million keys timed without storing a million
//! objects, and without the stand-in's own CPU deciding the result (it shares the
//! machine with the listers it serves).
//!
//! ```text
//! s3_fake_listing PORT KEYS [DELAY_MS]
//! ```
//!
//! Bucket `bench`, keys `logs/YYYY-mm-DD-HH-MM-SS-<16 hex digits>` spread evenly over 30
//! days from 2022-05-01, in key order by construction (key `i` is computed, never
//! stored). It answers ListObjectsV2 (prefix, start-after, continuation-token, max-keys
//! up to 1,000, the `/` delimiter) and GetObject (a one-line body), each held DELAY_MS
//! (default 25, real S3's latency for a small request), on a thread per connection, and
//! ignores signatures. `GET /__stats` answers at once with JSON: LIST and GET requests,
//! the keys all LIST answers held, and the time of the first GET (seconds since the
//! epoch, or null).

use std::fmt::{self, Write as _};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2022-05-01T00:00:00Z.
const START: u64 = 1_651_363_200;
const SPAN: u64 = 30 * 86_400;
const BODY: &[u8] = b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be bench \
[01/May/2022:00:00:00 +0000] 10.0.0.1 - 3E57427F3EXAMPLE REST.GET.OBJECT k \
\"GET /bench/k HTTP/1.1\" 200 - 1 1 1 1 \"-\" \"ua\" -\n";

struct Fake {
    keys: u64,
    delay: Duration,
    lists: AtomicU64,
    gets: AtomicU64,
    listed: AtomicU64,
    first_get: Mutex<Option<f64>>,
}

/// `YYYY-mm-DD-HH-MM-SS` of a time (seconds since the epoch, UTC).
struct Stamp(u64);

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let (days, second) = (t / 86_400, t % 86_400);
        // Days to a civil date (Howard Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}-{:02}-{:02}-{:02}",
            second / 3600,
            second % 3600 / 60,
            second % 60
        )
    }
}

/// Key `i` of `keys`.
struct Key {
    i: u64,
    keys: u64,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.i;
        write!(f, "logs/{}-{i:016X}", Stamp(START + i * SPAN / self.keys))
    }
}

impl Fake {
    fn key(&self, i: u64) -> String {
        self.key_at(i).to_string()
    }

    fn key_at(&self, i: u64) -> Key {
        Key { i, keys: self.keys }
    }

    /// The index of the first key for which `past` is false (`past` holds for a prefix
    /// of the keys).
    fn first_not(&self, past: impl Fn(&str) -> bool) -> u64 {
        let (mut lo, mut hi) = (0, self.keys);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if past(&self.key(mid)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn list(&self, query: &[(String, String)]) -> Vec<u8> {
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let prefix = get("prefix").unwrap_or("");
        let after = get("continuation-token")
            .filter(|t| !t.is_empty())
            .or(get("start-after"))
            .unwrap_or("");
        let most = get("max-keys")
            .and_then(|m| m.parse().ok())
            .unwrap_or(1000u64)
            .min(1000);
        let mut start = self
            .first_not(|k| k <= after)
            .max(self.first_not(|k| k < prefix));
        let mut folders = Vec::new();
        if get("delimiter") == Some("/")
            && !prefix.contains('/')
            && "logs/".starts_with(prefix)
            && after < "logs/"
        {
            folders.push("logs/");
            start = self.keys;
        }
        // Every key starts with `logs/`: a longer prefix ends the answer where keys stop
        // starting with it.
        let block_end = if "logs/".starts_with(prefix) {
            self.keys
        } else {
            self.first_not(|k| k < prefix || k.starts_with(prefix))
        };
        let end = (start + most).min(block_end).max(start);
        let truncated = end < block_end && end - start == most;
        self.listed.fetch_add(end - start, Ordering::Relaxed);
        let mut xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Name>bench</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount>\
             <MaxKeys>{most}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
            escape(prefix),
            end - start
        );
        // Written in place: the stand-in's CPU is taken from the listers it serves.
        if truncated {
            let _ = write!(
                xml,
                "<NextContinuationToken>{}</NextContinuationToken>",
                self.key_at(end - 1)
            );
        }
        for i in start..end {
            let _ = write!(
                xml,
                "<Contents><Key>{}</Key><LastModified>2022-05-01T00:00:00.000Z</LastModified>\
                 <ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag><Size>{}</Size>\
                 <StorageClass>STANDARD</StorageClass></Contents>",
                self.key_at(i),
                BODY.len()
            );
        }
        for folder in folders {
            let _ = write!(
                xml,
                "<CommonPrefixes><Prefix>{folder}</Prefix></CommonPrefixes>"
            );
        }
        xml += "</ListBucketResult>";
        xml.into_bytes()
    }

    fn stats(&self) -> Vec<u8> {
        let first_get = *self.first_get.lock().unwrap();
        format!(
            "{{\"list\": {}, \"get\": {}, \"keys\": {}, \"first_get\": {}}}",
            self.lists.load(Ordering::Relaxed),
            self.gets.load(Ordering::Relaxed),
            self.listed.load(Ordering::Relaxed),
            first_get.map_or("null".to_string(), |t| format!("{t:.3}"))
        )
        .into_bytes()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A query string's `name=value` pairs, percent-decoded.
fn query(q: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match (b[i], hex) {
                (b'%', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (b'+', _) => {
                    out.push(b' ');
                    i += 1;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

fn serve(fake: &Fake, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let target = line.split(' ').nth(1).unwrap_or("/").to_string();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        std::io::copy(&mut (&mut reader).take(length as u64), &mut std::io::sink())?;
        let (path, q) = target.split_once('?').unwrap_or((&target, ""));
        let q = query(q);
        let (body, kind): (Vec<u8>, &str) = if path == "/__stats" {
            (fake.stats(), "application/json")
        } else if q.iter().any(|(n, _)| n == "list-type") {
            fake.lists.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(fake.delay);
            (fake.list(&q), "application/xml")
        } else {
            fake.gets.fetch_add(1, Ordering::Relaxed);
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            fake.first_get
                .lock()
                .unwrap()
                .get_or_insert(now.as_secs_f64());
            std::thread::sleep(fake.delay);
            (BODY.to_vec(), "application/octet-stream")
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\n\
             ETag: \"0123456789abcdef0123456789abcdef\"\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes())?;
        writer.write_all(&body)?;
        writer.flush()?;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (port, keys, delay) = match &args[1..] {
        [port, keys] => (port, keys, "25"),
        [port, keys, delay] => (port, keys, delay.as_str()),
        _ => return Err("usage: s3_fake_listing PORT KEYS [DELAY_MS]".into()),
    };
    let fake = Arc::new(Fake {
        keys: keys.parse::<u64>()?.max(1),
        delay: Duration::from_millis(delay.parse()?),
        lists: AtomicU64::new(0),
        gets: AtomicU64::new(0),
        listed: AtomicU64::new(0),
        first_get: Mutex::new(None),
    });
    let listener = TcpListener::bind(("127.0.0.1", port.parse::<u16>()?))?;
    for stream in listener.incoming() {
        let fake = Arc::clone(&fake);
        let stream = stream?;
        std::thread::spawn(move || {
            // A connection the client dropped ends its thread; nothing else to do.
            let _ = serve(&fake, stream);
        });
    }
    Ok(())
}
