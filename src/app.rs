//! The edge of the program: runs a parsed command line, prints what went wrong on
//! stderr and decides the exit status.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command, InputArgs, ReportArgs, ReportFormat, RequestsArgs};
use crate::pipeline::{self, Tally};
use crate::report::requests::RequestWriter;
use crate::report::{self, Context, Report};
use crate::{config, escape, source};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: usage or input error.
pub const EXIT_ERROR: u8 = 2;

/// Parses the process arguments, runs the command and returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!(
                "vpce-audit: error: {}",
                escape::terminal(format!("{e:#}").as_bytes())
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<::csv::Error>().is_some_and(|csv| {
                matches!(csv.kind(), ::csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe)
            })
    })
}

/// Runs one command line.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        None => report(&cli.report),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Requests(args)) => requests(&args),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "vpce-audit", &mut io::stdout());
            Ok(EXIT_OK)
        }
    }
}

fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    let settings = config::settings(&args.input, args.interval.seconds())?;
    let expanded = source::expand(&args.input, &settings.filter);
    let pool = thread_pool(args.input.threads)?;
    let (agg, mut tally) = pool.install(|| pipeline::aggregate(&expanded.inputs, &settings));
    tally.errors.splice(0..0, expanded.errors.iter().cloned());
    let ctx = Context {
        settings: &settings,
        interval_name: args.interval.name(),
    };
    let mut report = Report::build(&agg, &tally, &ctx);
    report.summary.s3 = expanded.s3_counts();
    let stdout = io::stdout();
    let fit = stdout.is_terminal();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        ReportFormat::Table => report::table::write(&report, &mut out, fit)?,
        ReportFormat::Json => report::json::write(&report, &mut out)?,
        ReportFormat::Csv => report::csv::write(&report, &mut out, !args.input.raw_csv)?,
    }
    out.flush()?;
    Ok(finish(&tally, &args.input, &expanded))
}

fn requests(args: &RequestsArgs) -> anyhow::Result<u8> {
    let settings = config::settings(&args.input, 3600)?;
    let expanded = source::expand(&args.input, &settings.filter);
    let stdout = io::stdout();
    let fit = stdout.is_terminal();
    let out = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut writer = RequestWriter::new(args.format, out, fit, !args.input.raw_csv);
    let mut tally = Tally {
        errors: expanded.errors.clone(),
        ..Tally::default()
    };
    let mut failure = None;
    for input in &expanded.inputs {
        let name = input.name();
        let go_on =
            pipeline::scan_input(
                input,
                &settings,
                &mut tally,
                |record, class, line| match writer.write(record, class, &name, line) {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                },
            );
        if !go_on {
            break;
        }
    }
    if let Some(e) = failure {
        return Err(e).context("writing the request listing");
    }
    writer.finish().context("writing the request listing")?;
    Ok(finish(&tally, &args.input, &expanded))
}

fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")
}

/// Prints input errors, the first rejected lines and what was read from S3 on stderr;
/// returns the exit status.
fn finish(tally: &Tally, args: &InputArgs, expanded: &source::Expanded) -> u8 {
    let mut err = io::stderr().lock();
    if let Some(counts) = expanded.s3_counts() {
        let _ = writeln!(err, "vpce-audit: {counts}");
    }
    for e in &tally.errors {
        let _ = writeln!(
            err,
            "vpce-audit: {}: {}",
            escape::terminal(e.source_name.as_bytes()),
            escape::terminal(e.message.as_bytes())
        );
    }
    for r in tally.rejections.iter().take(args.show_rejects) {
        let _ = writeln!(
            err,
            "{}:{}: rejected: {}",
            escape::terminal(r.source.as_bytes()),
            r.line,
            escape::terminal(r.reason.as_bytes())
        );
    }
    if tally.rejected > 0 {
        let shown = tally.rejections.len().min(args.show_rejects);
        let _ = writeln!(
            err,
            "vpce-audit: {} of {} lines rejected ({} shown above; --show-rejects N for more, --format json lists up to {})",
            tally.rejected,
            tally.lines,
            shown,
            pipeline::KEPT_REJECTIONS
        );
    }
    if !tally.errors.is_empty() || (args.strict && tally.rejected > 0) {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}
