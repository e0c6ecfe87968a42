//! Progress of reading local inputs on stderr: bytes read out of the total, rate and
//! time left (standard input: bytes and rate). Drawn only when stderr is a terminal and
//! `--quiet` was not given, only for large inputs (files adding up to [`LARGE`], or
//! standard input), and only once a run has lasted [`DELAY`], so short runs, logs and
//! pipes stay clean; cleared before the report is written. `s3://` inputs have their
//! own display (the `s3` module), which `--quiet` silences too.
//!
//! Readers report what they read through [`Counted`], a `Read` wrapper that adds to one
//! process-wide counter; a [`Bar`] samples that counter on a thread of its own, so the
//! workers never wait for the terminal.

use std::io::{self, IsTerminal, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Local files adding up to less than this are read without a progress bar.
pub const LARGE: u64 = 64 * 1024 * 1024;
/// A run that ends sooner shows no progress bar at all.
pub const DELAY: Duration = Duration::from_secs(1);
/// How often the bar samples the counter.
const TICK: Duration = Duration::from_millis(200);

/// Bytes read from local inputs (compressed bytes for gzip) since the program started.
static READ: AtomicU64 = AtomicU64::new(0);
/// Set by `--quiet`.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns every progress display of this process off (`--quiet`) or back on.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// May progress be drawn: stderr is a terminal and `--quiet` was not given?
pub fn enabled() -> bool {
    allowed(io::stderr().is_terminal())
}

/// May progress be drawn on a stderr that is (`terminal`) or is not a terminal?
fn allowed(terminal: bool) -> bool {
    !QUIET.load(Ordering::Relaxed) && terminal
}

/// A reader that adds the bytes it reads to the progress counter.
#[derive(Debug)]
pub struct Counted<R> {
    inner: R,
    counter: &'static AtomicU64,
}

/// Wraps `inner` so that what it reads shows in the progress bar.
pub fn counted<R: Read>(inner: R) -> Counted<R> {
    Counted {
        inner,
        counter: &READ,
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// How much local input a run reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Regular files only: their sizes added up.
    Known(u64),
    /// Standard input is among the inputs.
    Unknown,
}

/// Is a run of this size worth a progress bar: files adding up to [`LARGE`], or
/// standard input?
fn worth_a_bar(size: Size) -> bool {
    match size {
        Size::Known(total) => total >= LARGE,
        Size::Unknown => true,
    }
}

/// The progress bar of one run; dropping it stops and clears it.
#[derive(Debug)]
pub struct Bar {
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<JoinHandle<()>>,
}

impl Bar {
    /// Starts the bar for reading local inputs of `size` (`None`: inputs in S3, which
    /// have their own display), or returns `None` when nothing is to be shown (see the
    /// module documentation).
    pub fn start(size: Option<Size>) -> Option<Bar> {
        let size = size.filter(|&s| worth_a_bar(s))?;
        if !enabled() {
            return None;
        }
        let mut display = Display::new(size, &READ, ProgressDrawTarget::stderr());
        let (stop, stopped) = mpsc::channel();
        let ticker = std::thread::Builder::new()
            .name("progress".to_string())
            .spawn(move || {
                if stopped.recv_timeout(DELAY) != Err(RecvTimeoutError::Timeout) {
                    return;
                }
                display.show();
                while stopped.recv_timeout(TICK) == Err(RecvTimeoutError::Timeout) {
                    display.update();
                }
                display.bar.finish_and_clear();
            })
            .ok()?;
        Some(Bar {
            stop: Some(stop),
            ticker: Some(ticker),
        })
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// The bar itself and where its numbers come from.
struct Display {
    bar: ProgressBar,
    counter: &'static AtomicU64,
    /// The counter when the run started.
    start: u64,
    /// Where the bar draws once shown.
    target: Option<ProgressDrawTarget>,
}

impl Display {
    /// A bar for `size` bytes counted by `counter` from now on, hidden until shown.
    fn new(size: Size, counter: &'static AtomicU64, target: ProgressDrawTarget) -> Self {
        let bar = match size {
            Size::Known(_) => ProgressBar::hidden().with_style(
                ProgressStyle::with_template(
                    "{spinner} {binary_bytes}/{binary_total_bytes} [{wide_bar}] \
                     {binary_bytes_per_sec}, {eta} left",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            ),
            Size::Unknown => ProgressBar::hidden().with_style(
                ProgressStyle::with_template(
                    "{spinner} {binary_bytes} read, {binary_bytes_per_sec}",
                )
                .expect("the template is valid"),
            ),
        };
        if let Size::Known(total) = size {
            bar.set_length(total);
        }
        Display {
            bar,
            counter,
            start: counter.load(Ordering::Relaxed),
            target: Some(target),
        }
    }

    /// Draws the bar for the first time.
    fn show(&mut self) {
        if let Some(target) = self.target.take() {
            self.bar.set_draw_target(target);
        }
        self.update();
        self.bar.enable_steady_tick(TICK);
    }

    /// Moves the bar to the bytes read so far (at most the total: a piece of a file
    /// may read a little past its end).
    fn update(&self) {
        let done = self.counter.load(Ordering::Relaxed) - self.start;
        let done = self.bar.length().map_or(done, |total| done.min(total));
        self.bar.set_position(done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_readers_add_what_they_read() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let data = vec![7u8; 100_000];
        let mut reader = Counted {
            inner: &data[..],
            counter: &COUNTER,
        };
        let mut first = [0u8; 1000];
        reader.read_exact(&mut first).unwrap();
        assert_eq!(COUNTER.load(Ordering::Relaxed), 1000);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(COUNTER.load(Ordering::Relaxed), 100_000);
    }

    #[test]
    fn the_bar_shows_bytes_read_since_it_started_up_to_the_total() {
        static COUNTER: AtomicU64 = AtomicU64::new(5_000);
        let display = Display::new(Size::Known(1_000), &COUNTER, ProgressDrawTarget::hidden());
        assert_eq!(display.bar.length(), Some(1_000));
        display.update();
        assert_eq!(display.bar.position(), 0);
        COUNTER.fetch_add(400, Ordering::Relaxed);
        display.update();
        assert_eq!(display.bar.position(), 400);
        COUNTER.fetch_add(700, Ordering::Relaxed);
        display.update();
        assert_eq!(display.bar.position(), 1_000);

        let unknown = Display::new(Size::Unknown, &COUNTER, ProgressDrawTarget::hidden());
        COUNTER.fetch_add(123_456, Ordering::Relaxed);
        unknown.update();
        assert_eq!(
            (unknown.bar.length(), unknown.bar.position()),
            (None, 123_456)
        );
    }

    #[test]
    fn only_large_files_or_standard_input_get_a_bar() {
        assert!(!worth_a_bar(Size::Known(0)));
        assert!(!worth_a_bar(Size::Known(LARGE - 1)));
        assert!(worth_a_bar(Size::Known(LARGE)));
        assert!(worth_a_bar(Size::Unknown));
        assert!(Bar::start(None).is_none());
        assert!(Bar::start(Some(Size::Known(1))).is_none());
    }

    #[test]
    fn quiet_or_a_stderr_that_is_not_a_terminal_turns_progress_off() {
        assert!(allowed(true));
        assert!(!allowed(false));
        set_quiet(true);
        assert!(!allowed(true) && !allowed(false));
        // Whatever stderr is while the tests run.
        assert!(!enabled());
        assert!(Bar::start(Some(Size::Unknown)).is_none());
        set_quiet(false);
        assert!(allowed(true));
    }
}
