//! Progress of S3 inputs on stderr: objects and bytes done out of those listed. Drawn
//! only when stderr is a terminal, so logs and pipes stay clean.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A shared progress display; every method is a no-op when stderr is not a terminal.
#[derive(Clone, Debug, Default)]
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    listed: AtomicU64,
    objects: AtomicU64,
    done: AtomicU64,
}

impl Progress {
    /// A display on stderr if it is a terminal, otherwise nothing.
    pub fn on_stderr() -> Self {
        if !io::stderr().is_terminal() {
            return Progress::default();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} s3: {msg} {binary_bytes}/{binary_total_bytes} [{wide_bar}] {binary_bytes_per_sec}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            counts: Arc::default(),
        }
    }

    /// `n` more objects were listed.
    pub fn listing(&self, n: usize) {
        let listed = self.counts.listed.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("listing, {listed} objects"));
        }
    }

    /// `objects` totalling `bytes` are to be read.
    pub fn to_read(&self, objects: u64, bytes: u64) {
        self.counts.objects.fetch_add(objects, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc_length(bytes);
            self.show_objects(bar);
        }
    }

    /// `n` bytes of an object arrived.
    pub fn bytes(&self, n: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
    }

    /// One object is finished, read or failed.
    pub fn object_done(&self) {
        let done = self.counts.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            if done >= self.counts.objects.load(Ordering::Relaxed) {
                bar.finish_and_clear();
            } else {
                self.show_objects(bar);
            }
        }
    }

    /// Removes the display.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn show_objects(&self, bar: &ProgressBar) {
        bar.set_message(format!(
            "{}/{} objects",
            self.counts.done.load(Ordering::Relaxed),
            self.counts.objects.load(Ordering::Relaxed)
        ));
    }
}
