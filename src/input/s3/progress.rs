//! Progress of S3 inputs on stderr: objects and bytes done out of those listed so far. Drawn
//! only when stderr is a terminal and `--quiet` was not given
//! ([`crate::input::progress::enabled`]), so logs and pipes stay clean, and cleared whenever
//! nothing is pending, so it never mixes with the report.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A shared progress display; every method is a no-op when stderr is not a terminal.
#[derive(Clone, Debug, Default)]
pub(super) struct Progress {
    shared: Option<Arc<Mutex<Shared>>>,
}

#[derive(Debug, Default)]
struct Shared {
    bar: Option<ProgressBar>,
    /// Listings still going on.
    listings: u64,
    listed: u64,
    objects: u64,
    done: u64,
}

impl Shared {
    fn bar(&mut self) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} s3: {msg}").expect("the template is valid"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
    }

    fn show_objects(&mut self) {
        let message = format!("{}/{} objects", self.done, self.objects);
        self.bar().set_message(message);
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress {
    /// A display on stderr if it is a terminal, otherwise nothing.
    pub fn on_stderr() -> Self {
        Progress {
            shared: crate::input::progress::enabled()
                .then(|| Arc::new(Mutex::new(Shared::default()))),
        }
    }

    fn shared(&self) -> Option<MutexGuard<'_, Shared>> {
        self.shared
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A listing started.
    pub fn listing_started(&self) {
        if let Some(mut s) = self.shared() {
            s.listings += 1;
        }
    }

    /// A listing ended.
    pub fn listing_done(&self) {
        if let Some(mut s) = self.shared() {
            s.listings = s.listings.saturating_sub(1);
            if s.listings == 0 && s.done >= s.objects {
                s.clear();
            }
        }
    }

    /// `n` more objects were listed.
    pub fn listing(&self, n: usize) {
        if let Some(mut s) = self.shared() {
            s.listed += n as u64;
            let message = format!("listing, {} objects", s.listed);
            s.bar().set_message(message);
        }
    }

    /// `objects` more totalling `bytes` are to be read.
    pub fn to_read(&self, objects: u64, bytes: u64) {
        if let Some(mut s) = self.shared() {
            s.objects += objects;
            let bar = s.bar();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} s3: {msg} {binary_bytes}/{binary_total_bytes} [{wide_bar}] {binary_bytes_per_sec}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.inc_length(bytes);
            s.show_objects();
        }
    }

    /// `n` bytes of an object arrived.
    pub fn bytes(&self, n: usize) {
        if let Some(mut s) = self.shared() {
            s.bar().inc(n as u64);
        }
    }

    /// One object is finished, read or failed.
    pub fn object_done(&self) {
        if let Some(mut s) = self.shared() {
            s.done += 1;
            if s.done >= s.objects && s.listings == 0 {
                s.clear();
            } else {
                s.show_objects();
            }
        }
    }

    /// Removes the display.
    pub fn clear(&self) {
        if let Some(mut s) = self.shared() {
            s.clear();
        }
    }
}
