//! Throughput of the hot path on ~40 MB of synthetic logs held in memory, in bytes per
//! second, beside the baselines of `benches/baselines/mod.rs`:
//!
//! * `parse/full` and `parse/required_only`: [`LineParser`] over every line, and
//!   `parse/without_fast_path`: the same with every line read by the full parser;
//! * `parse_classify`: the same, then [`Classifier::classify`] on the remote IP;
//! * `pipeline`: [`pipeline::scan`] into an [`Aggregate`], then [`Report::build`];
//! * `baseline/count`: count the spaces of every line with memchr's vectorised count;
//! * `baseline/scan`: split every line on spaces with memchr, field by field;
//! * `baseline/tokenize`: the naive tokenizer, requests per bucket and hour;
//! * `aws_ranges/scan_aggregate_report`: `pipeline` with `--aws-ip-ranges` (10,000
//!   prefixes in a trie built once): the regions read, every public address tagged;
//!   beside it `aws_ranges/without`, the same run without the file, and
//!   `aws_ranges_load`, reading the file and building the trie (once per run);
//! * `cloudtrail/scan_aggregate_report`: ~40 MB of CloudTrail data events (one log
//!   file, one line) through the same pipeline.
//!
//! One thread each; `benches/compare.sh` measures whole runs on a 1.5 GB file with 1
//! and 2 threads. `cargo bench --bench pipeline --no-default-features` (a few minutes).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

use vpce_audit::aggregate::Aggregate;
use vpce_audit::classify::{Class, Classifier};
use vpce_audit::filter::Filter;
use vpce_audit::ipranges::AwsRanges;
use vpce_audit::parse::LineParser;
use vpce_audit::pipeline;
use vpce_audit::report::Report;
use vpce_audit::settings::Settings;
use vpce_audit::synth;
use vpce_audit::tally::Tally;

mod baselines;

/// Lines generated: about 40 MB at the generator's ~700 bytes per line.
const LINES: u64 = 57_000;
/// CloudTrail events generated: about 40 MB at ~1.3 KB an event.
const EVENTS: u64 = 30_000;
const SEED: u64 = 1;

/// Calls `each` with every line of `buf`, without its newline.
#[inline]
fn for_each_line(buf: &[u8], mut each: impl FnMut(&[u8])) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', buf) {
        each(&buf[start..end]);
        start = end + 1;
    }
    if start < buf.len() {
        each(&buf[start..]);
    }
}

fn settings() -> Settings {
    Settings {
        classifier: Classifier::new(&[]),
        filter: Filter::default(),
        interval: 3600,
        hashes: Default::default(),
        zone: vpce_audit::time::Zone::Utc,
        regions: false,
    }
}

/// What a run counts of `data`: every record aggregated, every line tallied.
fn scan_all(data: &[u8], settings: &Settings) -> (Aggregate, Tally) {
    let mut agg = Aggregate::new(settings.interval);
    let mut tally = Tally::default();
    pipeline::scan("bench", data, settings, &mut tally, |record, class, _| {
        agg.add(record, class);
        true
    });
    (agg, tally)
}

fn group<'c>(c: &'c mut Criterion, name: &str, bytes: usize) -> BenchmarkGroup<'c, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(bytes as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g
}

fn benches(c: &mut Criterion) {
    let mut buf = Vec::with_capacity(48 << 20);
    synth::write_logs(&mut buf, SEED, LINES).expect("writing to memory");
    let buf = &buf[..];
    let settings = settings();

    let mut g = group(c, "parse", buf.len());
    for (name, make) in [
        ("full", LineParser::new as fn() -> LineParser),
        ("required_only", LineParser::required_only),
        ("without_fast_path", || {
            LineParser::new().without_fast_path()
        }),
    ] {
        g.bench_function(name, |b| {
            let mut parser = make();
            b.iter(|| {
                let mut parsed = 0u64;
                for_each_line(buf, |line| parsed += u64::from(parser.parse(line).is_ok()));
                assert_eq!(parsed, LINES, "every generated line is a record");
                parsed
            })
        });
    }
    g.finish();

    let mut g = group(c, "parse_classify", buf.len());
    g.bench_function("required_only", |b| {
        let mut parser = LineParser::required_only();
        b.iter(|| {
            let mut private = 0u64;
            for_each_line(buf, |line| {
                if let Ok(record) = parser.parse(line) {
                    let class = settings.classifier.classify(record.remote_ip);
                    private += u64::from(class == Class::Private);
                }
            });
            black_box(private)
        })
    });
    g.finish();

    let mut g = group(c, "pipeline", buf.len());
    g.bench_function("scan_aggregate_report", |b| {
        b.iter(|| {
            let (agg, tally) = scan_all(buf, &settings);
            assert_eq!(
                tally.counts.parsed, LINES,
                "every generated line is a record"
            );
            // Every bucket's report is built, as a renderer builds them.
            let report = Report::build(agg, &tally, &settings);
            report
                .buckets
                .iter()
                .map(|b| b.timeline.len())
                .sum::<usize>()
        })
    });
    g.finish();

    let mut ranges = Vec::new();
    synth::write_ip_ranges(&mut ranges, SEED, 10_000).expect("writing to memory");
    let ranges = String::from_utf8(ranges).expect("the generator writes UTF-8");
    let mut g = c.benchmark_group("aws_ranges_load");
    g.sample_size(10);
    g.bench_function("parse_and_build_10000", |b| {
        b.iter(|| AwsRanges::parse(&ranges).expect("generated ranges parse"))
    });
    g.finish();
    let ranges = Arc::new(AwsRanges::parse(&ranges).expect("generated ranges parse"));
    let mut g = group(c, "aws_ranges", buf.len());
    for (name, with_ranges) in [("without", false), ("scan_aggregate_report", true)] {
        let settings = Settings {
            regions: with_ranges,
            ..settings.clone()
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                let (agg, tally) = scan_all(buf, &settings);
                let mut report = Report::build(agg, &tally, &settings);
                if with_ranges {
                    report.tag_aws(Arc::clone(&ranges));
                }
                // Every bucket's report is built (and tagged), as a renderer builds them.
                report
                    .buckets
                    .iter()
                    .map(|b| b.top_public_ips.len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();

    let mut trail = Vec::with_capacity(48 << 20);
    synth::write_cloudtrail(&mut trail, SEED, EVENTS).expect("writing to memory");
    let trail = &trail[..];
    let mut g = group(c, "cloudtrail", trail.len());
    g.bench_function("scan_aggregate_report", |b| {
        b.iter(|| {
            let (agg, tally) = scan_all(trail, &settings);
            assert_eq!(tally.counts.rejected, 0, "every generated event is read");
            let report = Report::build(agg, &tally, &settings);
            report
                .buckets
                .iter()
                .map(|b| b.timeline.len())
                .sum::<usize>()
        })
    });
    g.finish();

    let mut g = group(c, "baseline", buf.len());
    g.bench_function("count", |b| {
        b.iter(|| {
            let mut spaces = 0usize;
            for_each_line(buf, |line| spaces += baselines::count(line));
            spaces
        })
    });
    g.bench_function("scan", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            for_each_line(buf, |line| fields += baselines::scan(line).0);
            fields
        })
    });
    g.bench_function("tokenize", |b| {
        b.iter(|| {
            let mut groups = baselines::Groups::new();
            for_each_line(buf, |line| baselines::tokenize(line, &mut groups));
            groups
        })
    });
    g.finish();
}

criterion_group!(pipeline_benches, benches);
criterion_main!(pipeline_benches);
