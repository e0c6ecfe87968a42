//! The edge of the program: runs a parsed command line, prints what went wrong on
//! stderr and decides the exit status.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use crate::athena::sql::Query;
use crate::check::bucket_policy::{self, Analysis};
use crate::check::rules::{BucketRule, Rules, RulesSpec};
use crate::check::state::State;
use crate::check::{self, Checker, Run};
use crate::cli::{
    AthenaArgs, AthenaCommand, CheckArgs, CheckFormat, Cli, Command, InputArgs, ListFormat,
    PolicyArgs, PolicyFormat, ReportArgs, ReportFormat, RequestsArgs, S3Args,
};
use crate::input::decode::decoded;
use crate::input::stream::SourceExt;
use crate::input::{self, progress, Expanded};
use crate::pipeline;
use crate::report::check::{CheckContext, CheckReport};
use crate::report::html::check::Evidence;
use crate::report::html::Invocation;
use crate::report::requests::RequestWriter;
use crate::report::{self, Report};
use crate::settings::Settings;
use crate::tally::{Tally, KEPT_REJECTIONS};
use crate::time::rfc3339;
use crate::{athena, config, escape};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: violations or contradictions found (`check`), gaps found (`policy`).
pub const EXIT_FINDINGS: u8 = 1;
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
    fn csv_broken_pipe(csv: &::csv::Error) -> bool {
        matches!(csv.kind(), ::csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe)
    }
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| {
            io.kind() == io::ErrorKind::BrokenPipe
                // A CSV writer's error turned into an io::Error by `?` hides its own.
                || io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<::csv::Error>())
                    .is_some_and(csv_broken_pipe)
        }) || c
            .downcast_ref::<::csv::Error>()
            .is_some_and(csv_broken_pipe)
    })
}

/// Runs one command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<u8> {
    let input = match &cli.command {
        None => Some(&cli.report.input),
        Some(Command::Report(args)) => Some(&args.input),
        Some(Command::Requests(args)) => Some(&args.input),
        Some(Command::Check(args)) => Some(&args.input),
        _ => None,
    };
    progress::set_quiet(input.is_some_and(|i| i.quiet));
    match cli.command {
        None => report(&cli.report),
        Some(Command::Report(args)) => report(&args),
        Some(Command::Requests(args)) => requests(&args),
        Some(Command::Athena(args)) => athena(&args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Policy(args)) => policy(&args),
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "vpce-audit", &mut io::stdout());
            Ok(EXIT_OK)
        }
    }
}

/// The inputs `args` name, expanded under `settings`.
fn expand(args: &InputArgs, settings: &Settings) -> Expanded {
    input::expand(&args.inputs, &config::input_options(args, settings))
}

fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    if args.from_athena {
        return report_from_athena(args);
    }
    let settings = config::settings(&args.input.select, args.interval.seconds())?;
    let expanded = expand(&args.input, &settings);
    let pool = thread_pool(args.input.threads)?;
    let bar = progress::Bar::start(expanded.local_size());
    let (agg, mut tally) = pool.install(|| pipeline::aggregate(&expanded.inputs, &settings));
    drop(bar);
    tally.errors.splice(0..0, expanded.errors.iter().cloned());
    let mut report = pool.install(|| Report::build(&agg, &tally, &settings));
    // Freeing the counters of a large run takes a while: a worker does it while the
    // report is written.
    pool.spawn(move || drop(agg));
    report.summary.s3 = expanded.s3_counts();
    write_report(&report, args)?;
    Ok(finish(&tally, &args.input, &expanded))
}

/// Where a command writes: `path` (created or replaced) or standard output, and
/// whether that is a terminal to fit tables to.
fn output(path: Option<&Path>) -> anyhow::Result<(io::BufWriter<Box<dyn Write>>, bool)> {
    let stdout = io::stdout();
    let fit = path.is_none() && stdout.is_terminal();
    let out: Box<dyn Write> = match path {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(stdout.lock()),
    };
    Ok((io::BufWriter::with_capacity(256 * 1024, out), fit))
}

/// How this run was made, for the header of an HTML page.
fn invocation(args: &InputArgs) -> Invocation {
    Invocation {
        command_line: report::html::command_line(std::env::args_os()),
        inputs: args.inputs.clone(),
    }
}

/// Writes a report in the format and to the place `args` ask for.
fn write_report(report: &Report, args: &ReportArgs) -> anyhow::Result<()> {
    let (mut out, fit) = output(args.output.as_deref())?;
    match args.format {
        ReportFormat::Table => report::table::write(report, &mut out, fit)?,
        ReportFormat::Json => report::json::write(report, &mut out)?,
        ReportFormat::Csv => report::csv::write(report, &mut out, !args.input.raw_csv)?,
        ReportFormat::Html => {
            report::html::audit::write(report, &invocation(&args.input), &mut out)?
        }
    }
    out.flush()?;
    Ok(())
}

/// `report --from-athena`: the report of an Athena result CSV.
fn report_from_athena(args: &ReportArgs) -> anyhow::Result<u8> {
    let [input] = &args.input.inputs[..] else {
        anyhow::bail!("--from-athena reads one result CSV (or - for standard input)");
    };
    let reader: Box<dyn io::Read> = if input == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(input).with_context(|| format!("opening {input}"))?)
    };
    let report =
        athena::results::read(decoded(reader)?).with_context(|| format!("reading {input}"))?;
    write_report(&report, args)?;
    let s = &report.summary;
    if s.rejected > 0 {
        eprintln!(
            "vpce-audit: {} of {} lines rejected on Athena (blank lines included); list them with \
             SELECT \"$path\" FROM <table> WHERE requestdatetime IS NULL",
            s.rejected, s.lines
        );
    }
    Ok(if args.input.strict && s.rejected > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

/// `athena ddl` and `athena query`: print the SQL.
fn athena(args: &AthenaArgs) -> anyhow::Result<u8> {
    let sql = match &args.command {
        AthenaCommand::Ddl(a) => config::athena_ddl(a)?.render(),
        AthenaCommand::Query(a) => {
            let table = config::athena_table(&a.table)?;
            let settings = config::settings(&a.select, a.interval.seconds())?;
            Query::new(&table, &settings, a.dialect).timeline()
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(sql.as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
}

fn requests(args: &RequestsArgs) -> anyhow::Result<u8> {
    let settings = config::settings(&args.input.select, 3600)?;
    let expanded = expand(&args.input, &settings);
    let stdout = io::stdout();
    let fit = stdout.is_terminal();
    // The listing streams while the logs are read: no bar when it goes to the terminal.
    let bar = (!fit)
        .then(|| progress::Bar::start(expanded.local_size()))
        .flatten();
    let out = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut writer = match args.format {
        ListFormat::Table => RequestWriter::table(out, fit),
        ListFormat::Csv => RequestWriter::csv(out, !args.input.raw_csv),
        ListFormat::Ndjson => RequestWriter::ndjson(out),
    };
    let mut tally = Tally {
        errors: expanded.errors.clone(),
        ..Tally::default()
    };
    let mut failure = None;
    for item in input::stream::each(&expanded.inputs).ahead(input::stream::AHEAD) {
        let input = match item {
            Ok(input) => input,
            Err(e) => {
                tally.errors.push(e);
                continue;
            }
        };
        let name = input.name();
        let go_on =
            pipeline::scan_input(
                &input,
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
    drop(bar);
    if let Some(e) = failure {
        return Err(e).context("writing the request listing");
    }
    writer.finish().context("writing the request listing")?;
    Ok(finish(&tally, &args.input, &expanded))
}

/// What `check` judges by: the settings, the compliance rules, the bucket policy to
/// cross-check and the state of earlier runs.
struct CheckSetup {
    settings: Settings,
    rules: Rules,
    bucket_policy: Option<Analysis>,
    state: Option<State>,
}

impl CheckSetup {
    /// Reads and validates everything `check` needs before it reads a log.
    fn load(args: &CheckArgs) -> anyhow::Result<CheckSetup> {
        let settings = config::settings(&args.input.select, args.interval.seconds())?;
        let spec = rules_spec(args)?;
        if spec.buckets.is_empty() && args.bucket_policy.is_none() {
            anyhow::bail!("no rules: give --require-private BUCKET, a --policy file with [[bucket]] tables, or --bucket-policy FILE");
        }
        let rules = Rules::new(spec).context("compliance rules")?;
        let bucket_policy = match &args.bucket_policy {
            Some(path) => Some(read_bucket_policy(
                &path.display().to_string(),
                None,
                &args.input.s3,
            )?),
            None => None,
        };
        if args.state.is_some() && args.input.inputs.iter().any(|i| i == "-") {
            anyhow::bail!("--state cannot remember standard input; give files or directories");
        }
        let fingerprint = check::fingerprint(&rules, &settings, bucket_policy.as_ref());
        let state = match &args.state {
            Some(path) => Some(State::load(path, &fingerprint)?),
            None => None,
        };
        Ok(CheckSetup {
            settings,
            rules,
            bucket_policy,
            state,
        })
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<u8> {
    let setup = CheckSetup::load(args)?;
    let expanded = expand(&args.input, &setup.settings);
    let checker = Checker {
        settings: &setup.settings,
        rules: &setup.rules,
        policy: setup.bucket_policy.as_ref(),
        aggregate: args.format == CheckFormat::Html,
    };
    let pool = thread_pool(args.input.threads)?;
    let bar = progress::Bar::start(expanded.local_size());
    let mut run = pool.install(|| check::run(&checker, &expanded.inputs, setup.state.as_ref()));
    drop(bar);
    run.tally
        .errors
        .splice(0..0, expanded.errors.iter().cloned());
    let code = check_status(&run, &args.input, &expanded);
    let next_state = setup.state.as_ref().map(|s| {
        let mut next = s.clone();
        next.record(
            &run.read,
            &run.findings.buckets,
            rfc3339(config::now_or_env()),
        );
        next
    });
    // The charts of --format html: the checked requests as a report.
    let traffic = run.findings.aggregate.take().map(|agg| {
        let mut traffic = pool.install(|| Report::build(&agg, &run.tally, &setup.settings));
        traffic.summary.s3 = expanded.s3_counts();
        traffic
    });
    let ctx = CheckContext {
        settings: &setup.settings,
        rules: &setup.rules,
        policy: setup.bucket_policy.as_ref(),
        state: args.state.as_deref().zip(setup.state.as_ref()),
        exit_code: code,
    };
    let report = CheckReport::build(run, &ctx);
    if let Err(e) = write_check(args, &report, traffic.as_ref(), &setup.rules) {
        // `check | head`: the findings still decide the exit status (a CI gate with
        // pipefail must not pass), but the state is not saved, as not all were seen.
        return if is_broken_pipe(&e) { Ok(code) } else { Err(e) };
    }
    // Only after the report is out: a run whose findings nobody saw is not recorded.
    if let (Some(path), Some(next)) = (&args.state, next_state) {
        if code != EXIT_ERROR {
            next.save(path)?;
        }
    }
    Ok(code)
}

/// The exit status of a check: input errors first, then findings.
fn check_status(run: &Run, args: &InputArgs, expanded: &Expanded) -> u8 {
    let totals = run.findings.totals();
    if finish(&run.tally, args, expanded) == EXIT_ERROR {
        EXIT_ERROR
    } else if totals.violations > 0 || totals.contradictions > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Writes the check report in the format and to the place `args` ask for; `traffic`
/// is the checked requests as a report, for the charts of `--format html`.
fn write_check(
    args: &CheckArgs,
    report: &CheckReport,
    traffic: Option<&Report>,
    rules: &Rules,
) -> anyhow::Result<()> {
    let (mut out, fit) = output(args.output.as_deref())?;
    match (args.format, traffic) {
        (CheckFormat::Table, _) => report::check::write_table(report, &mut out, fit)?,
        (CheckFormat::Json, _) => report::check::write_json(report, &mut out)?,
        (CheckFormat::Csv, _) => report::check::write_csv(report, &mut out, !args.input.raw_csv)?,
        (CheckFormat::Html, Some(traffic)) => {
            let rules_file = args.policy.as_ref().map(|p| p.display().to_string());
            let bucket_policy_file = args.bucket_policy.as_ref().map(|p| p.display().to_string());
            let evidence = Evidence {
                check: report,
                report: traffic,
                invocation: &invocation(&args.input),
                rules: rules.spec(),
                rules_file: rules_file.as_deref(),
                bucket_policy_file: bucket_policy_file.as_deref(),
            };
            report::html::check::write(&evidence, &mut out)?
        }
        (CheckFormat::Html, None) => unreachable!("the checker aggregates for --format html"),
    }
    out.flush()?;
    Ok(())
}

/// The rules: the --policy file's, then one per --require-private, with the
/// exception flags added to the global exceptions.
fn rules_spec(args: &CheckArgs) -> anyhow::Result<RulesSpec> {
    let mut spec = match &args.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --policy {}", path.display()))?;
            RulesSpec::from_toml(&text).with_context(|| format!("--policy {}", path.display()))?
        }
        None => RulesSpec::default(),
    };
    spec.buckets
        .extend(args.require_private.iter().map(|b| BucketRule::private(b)));
    spec.exceptions
        .public_cidrs
        .extend(args.allow_cidr.iter().cloned());
    spec.exceptions
        .requesters
        .extend(args.allow_requester.iter().cloned());
    spec.exceptions
        .operations
        .extend(args.ignore_operation.iter().cloned());
    spec.count_blocked |= args.count_blocked;
    if args.forbid_internal {
        for b in &mut spec.buckets {
            b.allow_internal = false;
        }
    }
    Ok(spec)
}

/// Reads and analyses the bucket policy in `file` (a path, `-`, or `s3://bucket` to
/// fetch it), of `bucket` if given.
fn read_bucket_policy(file: &str, bucket: Option<&str>, s3: &S3Args) -> anyhow::Result<Analysis> {
    let (text, bucket) = if file.starts_with("s3://") {
        let (text, of) = fetch_bucket_policy(file, s3)?;
        (text, Some(bucket.map_or(of, str::to_string)))
    } else if file == "-" {
        let text = io::read_to_string(io::stdin())
            .context("reading the bucket policy from standard input")?;
        (text, bucket.map(str::to_string))
    } else {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading bucket policy {file}"))?;
        (text, bucket.map(str::to_string))
    };
    bucket_policy::analyze(&text, bucket.as_deref())
        .with_context(|| format!("bucket policy {file}"))
}

/// The policy of the bucket at `url` (GetBucketPolicy) and the bucket's name.
#[cfg(feature = "s3")]
fn fetch_bucket_policy(url: &str, args: &S3Args) -> anyhow::Result<(String, String)> {
    use crate::input::s3;
    let location = s3::Location::parse(url).with_context(|| url.to_string())?;
    let session = s3::Session::connect(&config::s3_options(args))?;
    let policy = session
        .bucket_policy(&location.bucket)
        .with_context(|| format!("fetching the policy of {url}"))?;
    let policy = policy.with_context(|| {
        format!(
            "bucket {} has no bucket policy: nothing in it requires the VPC endpoint",
            location.bucket
        )
    })?;
    Ok((policy, location.bucket))
}

#[cfg(not(feature = "s3"))]
fn fetch_bucket_policy(url: &str, _args: &S3Args) -> anyhow::Result<(String, String)> {
    anyhow::bail!("{url}: this vpce-audit was built without S3 support (cargo feature `s3`)")
}

fn policy(args: &PolicyArgs) -> anyhow::Result<u8> {
    let analysis = read_bucket_policy(&args.file, args.bucket.as_deref(), &args.s3)?;
    let stdout = io::stdout();
    let fit = stdout.is_terminal();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        PolicyFormat::Table => report::policy::write_table(&analysis, &mut out, fit)?,
        PolicyFormat::Json => report::policy::write_json(&analysis, &mut out)?,
    }
    out.flush()?;
    Ok(if analysis.gaps.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting worker threads")
}

/// Prints input errors, the first rejected lines and what was read from S3 on stderr;
/// returns the exit status.
fn finish(tally: &Tally, args: &InputArgs, expanded: &Expanded) -> u8 {
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
    let counts = &tally.counts;
    if counts.rejected > 0 {
        let shown = tally.rejections.len().min(args.show_rejects);
        let _ = writeln!(
            err,
            "vpce-audit: {} of {} lines rejected ({} shown above; --show-rejects N for more, --format json lists up to {})",
            counts.rejected, counts.lines, shown, KEPT_REJECTIONS
        );
    }
    if !tally.errors.is_empty() || (args.strict && counts.rejected > 0) {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}
