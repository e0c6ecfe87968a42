//! The edge of the program: runs a parsed command line, prints what went wrong on
//! stderr and decides the exit status.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use crate::athena::sql::Query;
use crate::check::bucket_policy::{self, Analysis};
use crate::check::evidence::{self, Expectations, Finding};
use crate::check::rules::{BucketRule, Rules, RulesSpec};
use crate::check::state::{Lock, State};
use crate::check::{self, Checker, Run};
use crate::cli::{
    AthenaArgs, AthenaCommand, CheckArgs, CheckFormat, Cli, Command, CsvRows, InputArgs,
    ListFormat, PolicyArgs, PolicyFormat, ReportArgs, ReportFormat, RequestsArgs, S3Access,
    COMMANDS,
};
use crate::input::decode::decoded;
use crate::input::stream::SourceExt;
use crate::input::{self, progress, side, Expanded};
use crate::ipranges::AwsRanges;
use crate::pipeline;
use crate::report::check::{CheckContext, CheckReport};
use crate::report::html::check::Evidence;
use crate::report::html::Invocation;
use crate::report::requests::RequestWriter;
use crate::report::{self, Report};
use crate::settings::Settings;
use crate::tally::{Tally, KEPT_REJECTIONS};
use crate::time::{rfc3339, Zone};
use crate::{athena, config, escape};

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: violations or contradictions found (`check`), gaps found (`policy`).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage or input error.
pub const EXIT_ERROR: u8 = 2;

/// Parses the process arguments, runs the command and returns the exit status.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(word) = args.get(1).and_then(|a| a.to_str()) {
        if let Some(command) = mistyped_command(word) {
            eprintln!(
                "vpce-audit: error: {} is neither a command nor a file or directory; did you mean `{command}`?",
                escape::terminal(word.as_bytes())
            );
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage(&e),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => failed(&e),
    }
}

/// What clap has to say instead of a command: `--help` and `--version` on stdout
/// (exit 0, or 2 when stdout cannot take them), a usage error on stderr (exit 2).
fn usage(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let styled = e.render();
        let text = if io::stdout().is_terminal() {
            styled.ansi().to_string()
        } else {
            styled.to_string()
        };
        return match write_stdout(text.as_bytes()) {
            Ok(()) => ExitCode::from(EXIT_OK),
            Err(e) => failed(&e),
        };
    }
    // Usage errors (and the help shown when no command is given) go to stderr.
    let _ = e.print();
    ExitCode::from(EXIT_ERROR)
}

/// Writes `bytes` to standard output and flushes it.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes).context("writing to standard output")?;
    out.flush().context("writing to standard output")?;
    Ok(())
}

/// The exit status of a command that failed with `e`, after saying why on stderr; a
/// reader that went away (`| head`) is no failure.
fn failed(e: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(e) {
        return ExitCode::from(EXIT_OK);
    }
    eprintln!(
        "vpce-audit: error: {}",
        escape::terminal_lines(&format!("{e:#}"))
    );
    ExitCode::from(EXIT_ERROR)
}

/// The command `word` was probably meant to be: it is no command, no existing path
/// and no `s3://` URL or `-`, and a command name is at most two edits away.
fn mistyped_command(word: &str) -> Option<&'static str> {
    if word.starts_with('-') || word.contains("://") || COMMANDS.contains(&word) {
        return None;
    }
    if Path::new(word).exists() {
        return None;
    }
    COMMANDS
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|&(d, c)| d <= 2 && d < c.len())
        .min()
        .map(|(_, c)| c)
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
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vpce-audit", &mut script);
            write_stdout(&script)?;
            Ok(EXIT_OK)
        }
        Some(Command::Man) => {
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
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
    let mut settings = config::settings(&args.input.select, &args.windows)?;
    let ranges = aws_ranges(args.aws_ip_ranges.as_deref())?;
    settings.regions = ranges.is_some();
    settings.hashes.raw = args.evidence_hashes;
    let mut expanded = expand(&args.input, &settings);
    let pool = thread_pool(args.input.threads)?;
    let bar = progress::Bar::start(expanded.local_size());
    let (agg, mut tally) = pool.install(|| pipeline::aggregate(&expanded.inputs, &settings));
    drop(bar);
    expanded.note_listed_duplicates();
    tally.errors.splice(0..0, expanded.errors.iter().cloned());
    tally.warnings.clone_from(&expanded.warnings);
    let mut report = Report::build(agg, &tally, &settings);
    if let Some(ranges) = ranges {
        report.tag_aws(Arc::new(ranges));
    }
    report.summary.s3 = expanded.s3_counts();
    report.summary.inputs_duplicate = expanded.duplicates.len();
    // The buckets are built while they are written, on the workers.
    pool.install(|| write_report(&report, args))?;
    // Freeing the counters of a large run takes a while: a worker does it while the
    // outcome is printed.
    pool.spawn(move || drop(report));
    Ok(finish(&tally, &args.input, &expanded))
}

/// The `--aws-ip-ranges` file, read and indexed once.
fn aws_ranges(path: Option<&Path>) -> anyhow::Result<Option<AwsRanges>> {
    path.map(|p| AwsRanges::load(p).with_context(|| format!("--aws-ip-ranges {}", p.display())))
        .transpose()
}

/// Where a command writes: `path` (created or replaced) or standard output.
fn output(path: Option<&Path>) -> anyhow::Result<io::BufWriter<Box<dyn Write>>> {
    let stdout = io::stdout();
    let out: Box<dyn Write> = match path {
        Some(path) => {
            Box::new(File::create(path).with_context(|| format!("creating {}", path.display()))?)
        }
        None => Box::new(stdout.lock()),
    };
    Ok(io::BufWriter::with_capacity(256 * 1024, out))
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
    let mut out = output(args.output.as_deref())?;
    let screen = config::screen(args.output.is_some(), args.input.color);
    match args.format {
        ReportFormat::Table => report::table::write(report, &mut out, &screen)?,
        ReportFormat::Json => report::json::write(report, &mut out)?,
        ReportFormat::Csv => {
            let rows = match args.rows {
                CsvRows::Timeline => report::csv::Rows::Timeline,
                CsvRows::Requesters => report::csv::Rows::Requesters,
                CsvRows::Accounts => report::csv::Rows::Accounts,
                CsvRows::Transitions => report::csv::Rows::Transitions,
            };
            report::csv::write(report, rows, &mut out, !args.input.raw_csv)?
        }
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
    let name = if input == "-" {
        "standard input"
    } else {
        input
    };
    let raw = side::open(Path::new(input), side::RESULTS_LIMIT, "an Athena result")
        .with_context(|| format!("opening {name}"))?;
    let plain = side::Limited::new(
        decoded(raw).with_context(|| format!("reading {name}"))?,
        side::RESULTS_LIMIT,
        "an Athena result",
    );
    let report = athena::results::read(plain).with_context(|| format!("reading {name}"))?;
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
        AthenaCommand::Ddl(a) if a.table.cloudtrail => config::athena_cloudtrail_ddl(a)?,
        AthenaCommand::Ddl(a) => config::athena_ddl(a)?.render(),
        AthenaCommand::Query(a) => {
            let table = config::athena_table(&a.table)?;
            let settings = config::settings(&a.select, &a.windows)?;
            let query = Query::new(&table, &settings, a.dialect);
            if a.table.cloudtrail {
                query.cloudtrail().endpoint_breakdown()
            } else {
                query.timeline()
            }
        }
        AthenaCommand::Requests(a) => {
            let table = config::athena_table(&a.table)?;
            let settings = config::settings_in(&a.select, 3600, Zone::Utc)?;
            let filter = config::request_filter(&a.filter)?;
            Query::new(&table, &settings, a.dialect).requests(&filter)
        }
    };
    let mut out = io::stdout().lock();
    out.write_all(sql.as_bytes())?;
    out.flush()?;
    Ok(EXIT_OK)
}

fn requests(args: &RequestsArgs) -> anyhow::Result<u8> {
    let zone = args.tz.unwrap_or_default();
    let settings = config::settings_in(&args.input.select, 3600, zone)?;
    let filter = config::request_filter(&args.filter)?;
    let mut expanded = expand(&args.input, &settings);
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    // The listing streams while the logs are read: no bar when it goes to the terminal.
    let bar = (!to_terminal)
        .then(|| progress::Bar::start(expanded.local_size()))
        .flatten();
    let out = output(args.output.as_deref())?;
    let screen = config::screen(args.output.is_some(), args.input.color);
    let mut writer = match args.format {
        ListFormat::Table => RequestWriter::table(out, screen, zone),
        ListFormat::Csv => RequestWriter::csv(out, !args.input.raw_csv, zone),
        ListFormat::Ndjson => RequestWriter::ndjson(out),
    };
    if let Some(ranges) = aws_ranges(args.aws_ip_ranges.as_deref())? {
        writer = writer.with_aws_ranges(ranges);
    }
    let mut tally = Tally {
        errors: expanded.errors.clone(),
        warnings: expanded.warnings.clone(),
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
        let go_on = pipeline::scan_input(
            &input,
            &settings,
            None,
            &mut tally,
            |record, class, line| {
                if !filter.matches(record, class) {
                    return true;
                }
                match writer.write(record, class, &name, line) {
                    Ok(()) => true,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
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
    let listed = writer.written();
    writer.finish().context("writing the request listing")?;
    if args.format != ListFormat::Table && io::stderr().is_terminal() {
        eprintln!("vpce-audit: {listed} request(s) listed");
    }
    expanded.note_listed_duplicates();
    Ok(finish(&tally, &args.input, &expanded))
}

/// What `check` judges by: the settings, the compliance rules, the bucket policy to
/// cross-check and the state of earlier runs (locked for this run).
struct CheckSetup {
    settings: Settings,
    rules: Rules,
    bucket_policy: Option<Analysis>,
    policy_since: Option<i64>,
    expectations: Expectations,
    state: Option<StateSetup>,
}

/// The state of an incremental check, held for the whole run.
struct StateSetup {
    path: PathBuf,
    state: State,
    retention_days: i64,
    /// Released when the run ends.
    _lock: Lock,
}

impl CheckSetup {
    /// Reads and validates everything `check` needs before it reads a log; with
    /// `--state`, waits for the state's lock.
    fn load(args: &CheckArgs) -> anyhow::Result<CheckSetup> {
        let mut settings = config::settings(&args.input.select, &args.windows)?;
        let spec = rules_spec(args)?;
        if spec.buckets.is_empty() && args.bucket_policy.is_none() {
            anyhow::bail!("no rules: give --require-private BUCKET, a --policy file with [[bucket]] tables, or --bucket-policy FILE");
        }
        let rules = Rules::new(spec).context("compliance rules")?;
        let bucket_policy = match &args.bucket_policy {
            Some(path) => Some(read_bucket_policy(
                &path.display().to_string(),
                None,
                &args.input.s3.access,
            )?),
            None => None,
        };
        let policy_since = args
            .policy_since
            .as_deref()
            .map(|t| config::time("--policy-since", t))
            .transpose()?;
        let now = config::now_or_env();
        let max_age = match (&args.max_age, &args.state) {
            (Some(age), _) => Some(config::duration("--max-age", age)?),
            (None, Some(_)) => Some(DEFAULT_MAX_AGE),
            (None, None) => None,
        };
        let expectations = Expectations {
            max_rejected: config::share("--max-rejected", &args.max_rejected)?,
            max_age,
            now,
            allow_no_evidence: args.allow_no_evidence,
            fail_on_private_denied: args.fail_on_private_denied,
        };
        settings.hashes.raw = args.evidence_hashes;
        let state = match &args.state {
            Some(path) => {
                let select = &args.input.select;
                if select.since.is_some() || select.until.is_some() {
                    anyhow::bail!(
                        "--since/--until cannot be combined with --state: S3 delivers logs late, \
                         and an object that arrives after its records left the window would be \
                         recorded as processed with its records filtered out, its violations \
                         never reported. With --state every new log object is judged whole; \
                         --max-age says how fresh the evidence must be (docs/check.md)"
                    );
                }
                if args.input.inputs.iter().any(|i| i == "-") {
                    anyhow::bail!(
                        "--state cannot remember standard input; give files or directories"
                    );
                }
                settings.hashes.plain = true;
                let timeout = config::duration("--lock-timeout", &args.lock_timeout)?;
                let retention = config::duration("--state-retention", &args.state_retention)?;
                anyhow::ensure!(
                    retention >= 86_400,
                    "--state-retention {:?}: at least a day (1d)",
                    args.state_retention
                );
                let lock = Lock::acquire(path, Duration::from_secs(timeout.unsigned_abs()))?;
                let fingerprint =
                    check::fingerprint(&rules, &settings, bucket_policy.as_ref(), policy_since);
                Some(StateSetup {
                    path: path.clone(),
                    state: State::load(path, &fingerprint)?,
                    retention_days: retention / 86_400,
                    _lock: lock,
                })
            }
            None => None,
        };
        Ok(CheckSetup {
            settings,
            rules,
            bucket_policy,
            policy_since,
            expectations,
            state,
        })
    }
}

/// The freshness `--state` runs demand unless `--max-age` says otherwise: a day, plus
/// the hours S3 may take to deliver.
const DEFAULT_MAX_AGE: i64 = 26 * 3600;

fn check(args: &CheckArgs) -> anyhow::Result<u8> {
    let setup = CheckSetup::load(args)?;
    let mut expanded = expand(&args.input, &setup.settings);
    if let Some(st) = &setup.state {
        // The state file and its companions are never read as logs.
        leave_out_state_files(&mut expanded, &st.path);
    }
    let checker = Checker {
        settings: &setup.settings,
        rules: &setup.rules,
        policy: setup.bucket_policy.as_ref(),
        policy_since: setup.policy_since,
        horizon: setup.state.as_ref().and_then(|s| s.state.horizon()),
        aggregate: args.format == CheckFormat::Html,
    };
    let pool = thread_pool(args.input.threads)?;
    let bar = progress::Bar::start(expanded.local_size());
    let state = setup.state.as_ref().map(|s| &s.state);
    let mut run = pool.install(|| check::run(&checker, &expanded.inputs, state));
    drop(bar);
    expanded.note_listed_duplicates();
    run.tally
        .errors
        .splice(0..0, expanded.errors.iter().cloned());
    run.tally.warnings.clone_from(&expanded.warnings);
    let next_state = match &setup.state {
        Some(s) => {
            let mut next = s.state.clone();
            next.record(
                &run.read,
                &run.moved,
                &run.findings.buckets,
                setup.expectations.now,
                s.retention_days,
                &s.path,
            )?;
            next.evidence = run.evidence;
            Some(next)
        }
        None => None,
    };
    let totals = next_state
        .as_ref()
        .map_or_else(|| run.findings.buckets.clone(), |s| s.buckets.clone());
    let filter = &setup.settings.filter;
    let findings = evidence::assess(
        &evidence::Evidence {
            rules: &setup.rules,
            policy: setup.bucket_policy.as_ref(),
            totals: &totals,
            findings: &run.findings,
            tally: &run.tally,
            window: (filter.since, filter.until),
        },
        &setup.expectations,
    );
    let code = check_status(&run, &findings, &args.input, &expanded);
    let ctx = CheckContext {
        settings: &setup.settings,
        rules: &setup.rules,
        policy: setup.bucket_policy.as_ref(),
        policy_since: setup.policy_since,
        state: setup
            .state
            .as_ref()
            .map(|s| s.path.as_path())
            .zip(next_state.as_ref()),
        duplicates: &expanded.duplicates,
        evidence_hashes: args.evidence_hashes,
        exit_code: code,
    };
    let aggregate = run.findings.aggregate.take();
    let reread = run
        .findings
        .charts_dropped
        .then(|| std::mem::take(&mut run.inputs));
    let span = run.findings.span;
    let tally = run.tally.clone();
    let report = CheckReport::build(run, findings, &ctx);
    // The charts of --format html: the checked requests as a report. With more
    // buckets than the check aggregated, a second reading aggregates those that get a
    // section of the page.
    let aggregate = match reread {
        Some(inputs) => {
            let mut settings = setup.settings.clone();
            settings.filter.buckets = report::html::check::charted(&report)
                .into_iter()
                .map(String::into_bytes)
                .collect();
            let charting = Checker {
                settings: &settings,
                ..checker
            };
            pool.install(|| check::run(&charting, &inputs, None))
                .findings
                .aggregate
        }
        None => aggregate,
    };
    let traffic = aggregate.map(|agg| {
        let mut traffic = Report::build(agg, &tally, &setup.settings);
        traffic.summary.s3 = expanded.s3_counts();
        // The time range of every checked request, not only of those charted.
        traffic.summary.first = span.map(|(first, _)| rfc3339(first));
        traffic.summary.last = span.map(|(_, last)| rfc3339(last));
        traffic
    });
    if let Err(e) = pool.install(|| write_check(args, &report, traffic.as_ref(), &setup.rules)) {
        // `check | head`: the findings still decide the exit status (a CI gate with
        // pipefail must not pass), but the state is not saved, as not all were seen.
        return if is_broken_pipe(&e) { Ok(code) } else { Err(e) };
    }
    // Only after the report is out: a run whose findings nobody saw is not recorded.
    if let (Some(st), Some(next)) = (&setup.state, next_state) {
        if code != EXIT_ERROR {
            next.save(&st.path)?;
        }
    }
    Ok(code)
}

/// Drops the state file and its lock and temporary files from the inputs, should the
/// state live inside the log folder. Only inputs with one of their names are compared
/// by canonical path.
fn leave_out_state_files(expanded: &mut Expanded, state: &Path) {
    let Some(name) = state.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let companion = format!(".{name}.");
    let dir = state
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    expanded.inputs.retain(|input| {
        let input::Input::File(path) = input else {
            return true;
        };
        let Some(file) = path.file_name().map(|n| n.to_string_lossy()) else {
            return true;
        };
        if file == name.as_str() {
            !same(path, state)
        } else if file.starts_with(&companion) {
            !path.parent().is_some_and(|p| same(p, dir))
        } else {
            true
        }
    });
}

/// The exit status of a check: input errors first, then violations, contradictions
/// and failing findings.
fn check_status(run: &Run, findings: &[Finding], args: &InputArgs, expanded: &Expanded) -> u8 {
    let totals = run.findings.totals();
    if finish(&run.tally, args, expanded) == EXIT_ERROR {
        EXIT_ERROR
    } else if totals.violations > 0 || totals.contradictions > 0 || findings.iter().any(|f| f.fails)
    {
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
    let mut out = output(args.output.as_deref())?;
    let screen = config::screen(args.output.is_some(), args.input.color);
    match (args.format, traffic) {
        (CheckFormat::Table, _) => report::check::write_table(report, &mut out, &screen)?,
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
        (CheckFormat::Ocsf, _) => report::ocsf::write(report, config::now_or_env(), &mut out)?,
        (CheckFormat::Junit, _) => report::junit::write(report, &mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// The rules: the --policy file's, then one per --require-private, with the
/// exception flags added to the global exceptions.
fn rules_spec(args: &CheckArgs) -> anyhow::Result<RulesSpec> {
    let mut spec = match &args.policy {
        Some(path) => {
            let text = side::read_text(path, side::RULES_LIMIT, "a rules file")
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
fn read_bucket_policy(file: &str, bucket: Option<&str>, s3: &S3Access) -> anyhow::Result<Analysis> {
    let (text, bucket) = if file.starts_with("s3://") {
        let (text, of) = fetch_bucket_policy(file, s3)?;
        (text, Some(bucket.map_or(of, str::to_string)))
    } else {
        let text = side::read_text(Path::new(file), side::POLICY_LIMIT, "a bucket policy")
            .with_context(|| match file {
                "-" => "reading the bucket policy from standard input".to_string(),
                _ => format!("reading bucket policy {file}"),
            })?;
        (text, bucket.map(str::to_string))
    };
    bucket_policy::analyze(&text, bucket.as_deref())
        .with_context(|| format!("bucket policy {file}"))
}

/// The policy of the bucket at `url` (GetBucketPolicy) and the bucket's name.
#[cfg(feature = "s3")]
fn fetch_bucket_policy(url: &str, args: &S3Access) -> anyhow::Result<(String, String)> {
    use crate::input::s3;
    let location = s3::Location::parse(url).with_context(|| url.to_string())?;
    let session = s3::Session::connect(&config::s3_access(args))?;
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
fn fetch_bucket_policy(url: &str, _args: &S3Access) -> anyhow::Result<(String, String)> {
    anyhow::bail!("{url}: this vpce-audit was built without S3 support (cargo feature `s3`)")
}

fn policy(args: &PolicyArgs) -> anyhow::Result<u8> {
    let analysis = read_bucket_policy(&args.file, args.bucket.as_deref(), &args.s3)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    let screen = config::screen(false, args.color);
    match args.format {
        PolicyFormat::Table => report::policy::write_table(&analysis, &mut out, &screen)?,
        PolicyFormat::Json => report::policy::write_json(&analysis, &mut out)?,
    }
    out.flush()?;
    Ok(if analysis.gaps.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn thread_pool(threads: u16) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(usize::from(threads))
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
    for w in &tally.warnings {
        let _ = writeln!(
            err,
            "vpce-audit: warning: {}: {}",
            escape::terminal(w.source_name.as_bytes()),
            escape::terminal(w.message.as_bytes())
        );
    }
    for d in &expanded.duplicates {
        let _ = writeln!(
            err,
            "vpce-audit: {}: the same input as {}, read once",
            escape::terminal(d.name.as_bytes()),
            escape::terminal(d.same_as.as_bytes())
        );
    }
    for (source, kind) in &tally.other_logs {
        let _ = writeln!(
            err,
            "vpce-audit: {}: looks like {kind}, not S3 server access logs",
            escape::terminal(source.as_bytes())
        );
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
