//! End-to-end tests of `report --format html`: the real binary writes the page, and a
//! real headless Chromium opens it, dumps its DOM and takes a screenshot.
//!
//! Chromium is the Debian package `chromium` (scripts/test.sh installs it); set
//! `CHROMIUM` to use another binary. A missing browser fails these tests.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{self, vpce_command as vpce_audit};

/// Longest a browser run may take before the test fails instead of hanging.
const BROWSER_TIMEOUT: &str = "120";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: run scripts/test.sh, which installs the Debian package chromium",
        path.display()
    );
    path
}

/// Runs headless Chromium on the file `page` with `extra` arguments and a fresh
/// profile, under `timeout` so a hung browser fails the test.
fn browse(page: &Path, extra: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let output = Command::new("timeout")
        .args(["--kill-after=10", BROWSER_TIMEOUT])
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("starting chromium");
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The page's DOM after loading, and the browser's log.
fn dump_dom(page: &Path) -> (String, String) {
    let out = browse(page, &["--dump-dom"]);
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Console messages in Chromium's log: script errors, refused loads (the page's
/// Content-Security-Policy forbids every fetch, and each attempt is logged).
fn console_messages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Decodes a PNG into (width, height, RGB pixels).
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let mut decoder = png::Decoder::new(BufReader::new(fs::File::open(path).unwrap()));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| match channels {
            1 | 2 => [p[0]; 3],
            _ => [p[0], p[1], p[2]],
        })
        .collect();
    (info.width, info.height, pixels)
}

/// The part of the DOM of each bucket's section, keyed by bucket name.
fn sections(dom: &str) -> Vec<&str> {
    dom.split("<details class=\"bucket\"").skip(1).collect()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// What the page must show for each bucket of `testdata/logs` in windows of 5 minutes,
/// counted from the fixture's lines (see testdata/README.md).
struct Expected {
    bucket: &'static str,
    verdict: &'static str,
    /// Windows with requests: one bar each.
    windows: usize,
    /// One rect per class with requests in a window.
    rects: usize,
    /// Windows with public requests a policy denied.
    denied: usize,
    /// Switches between the endpoint and the internet.
    transitions: usize,
}

const SAMPLE: [Expected; 2] = [
    // Private at 10:00, 10:05 (2), 10:10 (2), 10:20, 10:25 and 10:30; public let
    // through at 10:30 (a second rect), 10:35, 10:40, 10:45, 10:55; denied at 11:05
    // (2) and 11:10; private again at 11:20 (2), 11:30, 11:45.
    Expected {
        bucket: "shared-data-prod",
        verdict: "mixed",
        windows: 15,
        rects: 16,
        denied: 2,
        transitions: 2,
    },
    // Private at 10:00, 10:40, 11:00 and 11:45; S3's own requests at 11:55 and 12:00.
    Expected {
        bucket: "team-reports",
        verdict: "private-only",
        windows: 6,
        rects: 6,
        denied: 0,
        transitions: 0,
    },
];

/// Renders the sample logs, opens the page in Chromium and checks what it shows
/// against what the fixture's lines hold.
#[test]
fn sample_logs_render_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let status = vpce_audit()
        .args(["report", "--interval", "5m", "--format", "html", "-o"])
        .arg(&page)
        .arg("testdata/logs")
        .status()
        .unwrap();
    assert!(status.success());

    let html = fs::read_to_string(&page).unwrap();
    for fetch in [
        "http:", "https:", "<script", "<link", "<img", "src=", "@import",
    ] {
        assert!(!html.contains(fetch), "the page would fetch: {fetch}");
    }
    // url() only for the patterns the page defines itself.
    assert_eq!(
        html.matches("url(").count(),
        html.matches("url(#fill-").count()
    );
    assert!(html.contains("report --interval 5m --format html -o"));

    let (dom, log) = dump_dom(&page);
    assert!(dom.contains("<h1>VPC endpoint audit</h1>"), "{dom}");
    assert!(dom.trim_end().ends_with("</html>"));
    assert!(console_messages(&log).is_empty(), "{log}");
    assert!(dom.contains("26 read: 26 parsed, <span class=\"ok\">0 rejected</span>"));
    assert!(dom.contains("vpce-audit 0.1.0"));
    assert!(dom.contains("<code>testdata/logs</code> (4 files read"));
    assert_eq!(count(&dom, "<a href=\"#b"), 2);

    let sections = sections(&dom);
    assert_eq!(sections.len(), SAMPLE.len());
    for (section, expected) in sections.iter().zip(&SAMPLE) {
        let name = expected.bucket;
        assert!(section.contains(&format!("<h2>{name}</h2>")), "{name}");
        assert!(section.contains(&format!("class=\"verdict v-{}\"", expected.verdict)));
        // One bar per window with requests, one rect per class with requests in it.
        assert_eq!(count(section, "<svg class=\"timeline\""), 1, "{name}");
        assert_eq!(
            count(section, "<rect class=\"bar "),
            expected.rects,
            "{name}"
        );
        assert_eq!(count(section, "<g><title>"), expected.windows, "{name}");
        assert_eq!(
            count(section, "<rect class=\"bar denied\""),
            expected.denied,
            "{name}"
        );
        assert_eq!(count(section, "<ul class=\"legend\">"), 1);
        assert_eq!(count(section, "<li><span class=\"sw "), 6);
        assert!(section.contains("class=\"xlab\""));
        assert!(section.contains(">10:00</text>"), "time axis of {name}");
        assert!(section.contains(">2022-05-09</text>"));
        assert_eq!(
            count(section, "<g class=\"mark "),
            expected.transitions,
            "{name}"
        );
    }
    let shared = sections[0];
    assert!(shared.contains("[1] public traffic starts 10:32 from 52.79.54.241</text>"));
    assert!(shared.contains("[2] back on the endpoint 11:21 from 10.0.12.34</text>"));
    assert!(shared.contains("<td><code>52.79.54.241</code></td><td class=\"n\">8</td>"));
    assert!(shared.contains("<td><code>111122223333</code></td><td class=\"n\">1</td>"));
    assert!(shared.contains("Mixed: 12 requests came through the VPC endpoint"));
    // The requester table and the denial counters, pinned from the blog post's logs.
    assert_eq!(count(shared, "<table class=\"requesters\">"), 1);
    assert!(
        shared.contains(
            "<td><code>arn:aws:sts::111122223333:assumed-role/ec2-s3-reader</code></td>\
         <td class=\"nw\"><code>111122223333</code></td><td class=\"n\">20</td>\
         <td class=\"n\">12</td><td class=\"n\">0</td><td class=\"n public\">5</td>\
         <td class=\"n\">3</td><td class=\"n\">0</td><td class=\"n\">0</td>\
         <td class=\"nw\">2022-05-09T10:32:05Z</td><td class=\"nw\">2022-05-09T11:13:27Z</td>\
         <td><span class=\"nw\"><code>52.79.54.241</code> (8)</span></td>"
        ),
        "{shared}"
    );
    for (name, value) in [
        ("public let through", 5),
        ("public denied", 3),
        ("public refused before a policy", 0),
        ("private denied", 0),
    ] {
        assert!(
            shared.contains(&format!("<dt>{name}</dt><dd>{value}</dd>")),
            "{name}"
        );
    }
    let team = sections[1];
    assert_eq!(
        count(team, "<tr><td><code>"),
        3 + 3,
        "three requesters, three accounts"
    );
    // Bars refused or let through carry a pattern as well as a colour, defined once.
    assert_eq!(count(&dom, "<pattern id=\"fill-"), 4);
    assert!(dom.contains("svg .bar.allowed{fill:url(#fill-allowed)}"));

    let shot = dir.path().join("report.png");
    browse(
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
    );
    assert!(fs::metadata(&shot).unwrap().len() > 50_000);
    let (width, height, pixels) = decode_png(&shot);
    assert_eq!((width, height), (1280, 2000));
    // Each class shows in its own colour of Okabe and Ito's colour-blind-safe
    // palette, in more than the legend's swatches; patterned bars keep part of theirs
    // between the pattern's dark lines, which take the rest.
    for (class, rgb, least) in [
        ("private", [0x00, 0x72, 0xb2], 3000),
        ("public let through", [0xd5, 0x5e, 0x00], 1500),
        ("public denied", [0xe6, 0x9f, 0x00], 1500),
        ("internal", [0x99, 0x99, 0x99], 3000),
    ] {
        let n = pixels.iter().filter(|p| **p == rgb).count();
        assert!(n > least, "{class}: {n} pixels of {rgb:?}");
    }
    // The hatching: pixels darker than the vermilion of "let through", as many again.
    let hatched = pixels
        .iter()
        .filter(|p| p[0] > 0x50 && p[0] < 0xc0 && p[1] > 0x20 && p[1] < 0x58 && p[2] < 0x10)
        .count();
    assert!(hatched > 500, "{hatched} pixels of the hatching");

    let pdf = dir.path().join("report.pdf");
    browse(
        &page,
        &[
            &format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer",
        ],
    );
    let pdf = fs::read(&pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.len() > 20_000, "{} bytes of PDF", pdf.len());
}

/// Log fields chosen by an attacker stay text: escaped in the file, and no element
/// in the browser's DOM.
#[test]
fn hostile_log_fields_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let img = "\"><img src=x onerror=alert(1)>";
    let log = dir.path().join(format!("{img}.log"));
    let lines = [
        // Bucket, key and referer a script; requester and user agent an image.
        r#"o <script>alert(1)</script> [09/May/2022:10:00:00 +0000] 10.0.0.5 "><img/src=x/onerror=alert(1)> R1 REST.GET.OBJECT <script>alert(1)</script> "GET /k HTTP/1.1" 200 - 1 1 1 1 "<script>alert(1)</script>" ""><img src=x onerror=alert(1)>" -"#,
        // The same requester over the internet: a transition marker names it.
        r#"o <script>alert(1)</script> [09/May/2022:10:20:00 +0000] 52.79.54.241 "><img/src=x/onerror=alert(1)> R2 REST.GET.OBJECT "><img/src=x/onerror=alert(1)> "GET /"><img src=x onerror=alert(1)> HTTP/1.1" 200 - 1 1 1 1 ""><img src=x onerror=alert(1)>" "<script>alert(1)</script>" -"#,
        // Rejected: the reason quotes the bad remote IP.
        r#"o bkt [09/May/2022:10:30:00 +0000] <script>alert(1)</script> - R3 REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "ua" -"#,
    ];
    fs::write(&log, lines.join("\n") + "\n").unwrap();
    let page = dir.path().join("report.html");
    let run = vpce_audit()
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .arg(&log)
        .output()
        .unwrap();
    assert!(run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("1 of 3 lines rejected"));

    let html = fs::read_to_string(&page).unwrap();
    let lower = html.to_lowercase();
    for tag in ["<script", "<img", "<link", "http:", "https:"] {
        assert!(!lower.contains(tag), "{tag} in the page");
    }
    let script = "&lt;script&gt;alert(1)&lt;/script&gt;";
    assert!(html.contains(&format!("<h2>{script}</h2>")), "bucket name");
    assert!(html.contains(&format!("<a href=\"#b1\">{script}</a>")));
    // A rejection quotes the first 16 bytes of the field: `<script>alert(1)`.
    assert!(html.contains("&#39;&lt;script&gt;alert(1)…&#39; is not an IP address"));
    let requester = "&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;";
    assert!(html.contains(&format!("<td><code>{requester}</code></td>")));
    assert!(html.contains(&format!(
        "<title>[1] public traffic starts 10:20 from 52.79.54.241 {requester}</title>"
    )));
    let file = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;.log";
    assert!(html.contains(file), "input name in the command line");
    assert!(html.contains("<title>VPC endpoint audit: 1 bucket(s),"));

    let (dom, log) = dump_dom(&page);
    assert!(dom.contains("<h1>VPC endpoint audit</h1>"));
    assert!(console_messages(&log).is_empty(), "{log}");
    let dom_lower = dom.to_lowercase();
    assert!(
        !dom_lower.contains("<script"),
        "a script element in the DOM"
    );
    assert!(!dom_lower.contains("<img"), "an image element in the DOM");
    assert!(dom.contains(&format!("<h2>{script}</h2>")));
    // A serialised DOM writes a quote in text as is.
    assert!(dom.contains("<td><code>\"&gt;&lt;img/src=x/onerror=alert(1)&gt;</code></td>"));
}

/// `check --format html` on the sample logs plus one hostile violating request: the
/// page opens cleanly in Chromium, lists exactly the violations the JSON output
/// reports, charts the bucket, and keeps attacker-chosen fields as text.
#[test]
fn check_page_shows_violations_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let img = "\"><img src=x onerror=alert(1)>";
    let hostile = dir.path().join(format!("{img}.log"));
    // Let through from a public address at 10:58: a violation whose requester, key,
    // referer and user agent are markup.
    let line = r#"o shared-data-prod [09/May/2022:10:58:00 +0000] 52.1.2.3 "><img/src=x/onerror=alert(1)> R9 REST.GET.OBJECT <script>alert(1)</script> "GET /<script> HTTP/1.1" 200 - 1 1 1 1 "<script>alert(1)</script>" ""><img src=x onerror=alert(1)>" -"#;
    fs::write(&hostile, format!("{line}\n")).unwrap();
    let args = |format: &str| {
        let mut cmd = vpce_audit();
        cmd.args(["check", "--require-private", "shared-data-prod"])
            .args(["--interval", "5m", "--format", format])
            .arg("testdata/logs")
            .arg(&hostile);
        cmd
    };
    let json = args("json").output().unwrap();
    assert_eq!(json.status.code(), Some(1));
    let json = util::check_doc(&json.stdout);
    let page = dir.path().join("check.html");
    let run = args("html").arg("-o").arg(&page).output().unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "same exit status as --format json"
    );
    assert!(run.stdout.is_empty(), "the page goes to -o FILE");

    // The blog post's five violations and three blocked attempts, and the hostile one.
    let (violations, blocked) = (6, 3);
    let buckets = json["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1);
    let counts = &buckets[0]["this_run"];
    assert_eq!(counts["violations"], violations);
    assert_eq!(counts["blocked"], blocked);
    assert_eq!(json["violations"].as_array().unwrap().len(), violations);

    let html = fs::read_to_string(&page).unwrap();
    let lower = html.to_lowercase();
    for fetch in ["<script", "<img", "<link", "http:", "https:"] {
        assert!(!lower.contains(fetch), "{fetch} in the page");
    }

    let (dom, log) = dump_dom(&page);
    assert!(console_messages(&log).is_empty(), "{log}");
    assert!(dom.trim_end().ends_with("</html>"));
    assert!(dom.contains(
        "<h1>VPC endpoint compliance check <span class=\"result r-fail\">FAIL</span></h1>"
    ));
    assert!(dom.contains(&format!("FAIL: {violations} violations, 0 contradictions")));
    assert!(dom.contains("check --require-private shared-data-prod --interval 5m --format html"));
    assert!(dom.contains("<code>shared-data-prod</code></td><td>private</td>"));
    let dom_lower = dom.to_lowercase();
    assert!(
        !dom_lower.contains("<script"),
        "a script element in the DOM"
    );
    assert!(!dom_lower.contains("<img"), "an image element in the DOM");

    // The overview links to the bucket's section, which holds the chart and the table.
    assert!(dom.contains("<a href=\"#b1\">shared-data-prod</a>"));
    let sections = sections(&dom);
    assert_eq!(sections.len(), 1);
    let section = sections[0];
    assert!(section.contains("<h2>shared-data-prod</h2>"));
    assert_eq!(count(section, "<svg class=\"timeline\""), 1);
    // The sample's 15 windows of 5 minutes: the hostile request's, 10:55, is one of them.
    assert_eq!(count(section, "<g><title>"), 15, "one bar per window");
    assert!(count(section, "<rect class=\"bar allowed\"") > 0);
    assert!(count(section, "<rect class=\"bar denied\"") > 0);
    assert!(section.contains(&format!(
        "{blocked} blocked attempts (public, denied with HTTP 403)"
    )));

    let table = section
        .split("<table class=\"flagged\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("a violations table");
    assert_eq!(
        count(table, "<tr>") - 1,
        violations,
        "rows besides the header"
    );
    assert!(!section.contains("more not shown"));
    // Attacker-chosen fields are text in cells of the violation's row.
    assert!(table.contains("<td><code>&lt;script&gt;alert(1)&lt;/script&gt;</code></td>"));
    assert!(table.contains("<td><code>\"&gt;&lt;img/src=x/onerror=alert(1)&gt;</code></td>"));
    assert!(table.contains(&format!(
        "<code>{}:1</code>",
        hostile
            .display()
            .to_string()
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    )));
}

/// The page's visible text: tags dropped, entities of the sample's text decoded,
/// whitespace collapsed to single spaces.
fn visible_text(dom: &str) -> String {
    let mut text = String::with_capacity(dom.len());
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The sample logs with the CloudTrail files of the same story: the page shows, in a
/// real browser, which endpoint carried the bucket's requests, the changes to its
/// network path with the chart's markers, and the deleted endpoint as the likely cause
/// of the move to the internet. Expected values are the fixtures' (testdata/README.md).
#[test]
fn cloudtrail_sections_render_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let status = vpce_audit()
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .args(["testdata/logs", "testdata/cloudtrail"])
        .status()
        .unwrap();
    assert!(status.success());
    let (dom, log) = dump_dom(&page);
    assert_eq!(console_messages(&log), Vec::<&str>::new());
    let shared = sections(&dom)
        .into_iter()
        .find(|s| s.contains("shared-data-prod"))
        .expect("a section for shared-data-prod");
    let text = visible_text(shared);
    // Endpoint, account, requests, denied, first and last seen: the deleted endpoint
    // carried three requests (one denied by its own policy), the new one two.
    for row in [
        "vpce-0a1b2c3d4e5f60718 111122223333 3 1 2022-05-09T10:02:11Z 2022-05-09T10:15:30Z",
        "vpce-0f9e8d7c6b5a43210 111122223333 2 0 2022-05-09T11:30:00Z 2022-05-09T11:35:42Z",
    ] {
        assert!(text.contains(row), "endpoint row {row:?} in {text}");
    }
    for change in [
        "2022-05-09T10:31:50Z DeleteVpcEndpoints vpce-0a1b2c3d4e5f60718",
        "2022-05-09T11:04:30Z PutBucketPolicy shared-data-prod",
        "2022-05-09T11:20:40Z CreateVpcEndpoint vpce-0f9e8d7c6b5a43210",
    ] {
        assert!(text.contains(change), "change {change:?} in {text}");
    }
    assert_eq!(
        count(shared, "<g class=\"mark change\">"),
        3,
        "a marker per change"
    );
    assert!(
        text.contains(
            "2022-05-09T10:32:05Z private → public 52.79.54.241 \
             arn:aws:sts::111122223333:assumed-role/ec2-s3-reader 111122223333 \
             DeleteVpcEndpoints vpce-0a1b2c3d4e5f60718 at 2022-05-09T10:31:50Z"
        ),
        "the transition names its likely cause: {text}"
    );
    // The other bucket had no endpoint in CloudTrail: no such section there.
    let reports = sections(&dom)
        .into_iter()
        .find(|s| s.contains("team-reports"))
        .expect("a section for team-reports");
    assert!(!reports.contains("VPC endpoints that carried requests"));
}
