//! How many GetObject requests are in flight: fixed by `--s3-concurrency`, or adapted
//! to what the network and S3 give.
//!
//! The adaptive [`Controller`] starts wide ([`START`]) and climbs a hill: while the
//! number in flight is what holds the downloads back, it raises the number by half and
//! keeps the raise if objects then complete at least [`GAIN`] faster, otherwise it steps
//! back and holds for [`HOLD`] seconds before trying again. When S3 throttles (an attempt
//! the SDK's retry classifiers call a throttling error, or HTTP 503 SlowDown) the number
//! is halved, at most once per [`COOL_DOWN`], and held, as S3's guidance asks: reduce the
//! request rate and back off. Memory is bounded apart from this, by the fetcher's budget.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_s3::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_s3::config::retry::RetryAction;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime::client::retries::classifiers::run_classifiers_on_ctx;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::retries::classifiers::RetryReason;
use aws_smithy_types::retry::ErrorKind as RetryKind;

/// Requests in flight at the start.
pub const START: usize = 64;
/// The fewest the controller goes down to.
pub const MIN: usize = 4;
/// The most the controller goes up to (the memory budget may allow fewer).
pub const MAX: usize = 1024;
/// How much faster objects must complete for a raise to be kept.
pub const GAIN: f64 = 1.08;
/// Seconds to hold after a raise that did not pay, or after throttling.
pub const HOLD: f64 = 5.0;
/// Throttling halves the number at most once in this many seconds.
pub const COOL_DOWN: f64 = 1.0;
/// A measurement lasts at least this many seconds...
const WINDOW: f64 = 0.25;
/// ...and this many completions.
const WINDOW_COMPLETIONS: u64 = 32;

/// Where the controller is in its climb.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Measuring `limit` after a raise from `before`, which completed `rate` a second
    /// (none yet at the start).
    Probing { before: usize, rate: Option<f64> },
    /// Keeping `limit` until the given time.
    Holding { until: f64 },
}

/// The adaptive number of requests in flight, driven by completions and throttling
/// events with explicit times (seconds), so that it can be tested without a clock.
#[derive(Clone, Debug)]
pub struct Controller {
    limit: usize,
    phase: Phase,
    window_start: f64,
    completions: u64,
    /// Completions that found every slot taken and work waiting.
    saturated: u64,
    last_throttle: Option<f64>,
}

impl Controller {
    /// A controller at [`START`], measuring from `now`.
    pub fn new(now: f64) -> Self {
        Controller {
            limit: START,
            phase: Phase::Probing {
                before: START,
                rate: None,
            },
            window_start: now,
            completions: 0,
            saturated: 0,
            last_throttle: None,
        }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// A request completed at `now`; `saturated`: every slot was taken and more work
    /// was waiting, so the limit is what held it back.
    pub fn completed(&mut self, now: f64, saturated: bool) {
        self.completions += 1;
        self.saturated += u64::from(saturated);
        let elapsed = now - self.window_start;
        if elapsed < WINDOW || self.completions < WINDOW_COMPLETIONS {
            return;
        }
        let rate = self.completions as f64 / elapsed;
        let bound = self.saturated * 2 >= self.completions;
        self.window_start = now;
        self.completions = 0;
        self.saturated = 0;
        match self.phase {
            Phase::Holding { until } if now < until => {}
            Phase::Holding { .. } => {
                if bound {
                    self.raise(rate);
                }
            }
            Phase::Probing { rate: None, .. } => {
                if bound {
                    self.raise(rate);
                }
            }
            Phase::Probing {
                before,
                rate: Some(was),
            } => {
                if rate >= was * GAIN && bound {
                    self.raise(rate);
                } else if rate >= was * GAIN {
                    // Faster, but no longer held back by the limit: keep it.
                    self.phase = Phase::Holding { until: now + HOLD };
                } else {
                    self.limit = before;
                    self.phase = Phase::Holding { until: now + HOLD };
                }
            }
        }
    }

    fn raise(&mut self, rate: f64) {
        let before = self.limit;
        self.limit = (before + before / 2).clamp(MIN, MAX);
        self.phase = Phase::Probing {
            before,
            rate: Some(rate),
        };
    }

    /// S3 throttled a request at `now`.
    pub fn throttled(&mut self, now: f64) {
        if self.last_throttle.is_some_and(|t| now - t < COOL_DOWN) {
            return;
        }
        self.last_throttle = Some(now);
        self.limit = (self.limit / 2).max(MIN);
        self.phase = Phase::Holding { until: now + HOLD };
        self.window_start = now;
        self.completions = 0;
        self.saturated = 0;
    }
}

/// The limit of a session: pinned, or a [`Controller`] on the wall clock.
pub(super) struct Limiter {
    pinned: Option<usize>,
    epoch: Instant,
    controller: Mutex<Controller>,
    throttles: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("pinned", &self.pinned)
            .field("limit", &self.limit())
            .finish()
    }
}

impl Limiter {
    /// `Some(n)`: always `n`; `None`: adaptive.
    pub fn new(pinned: Option<usize>) -> Self {
        Limiter {
            pinned: pinned.map(|n| n.max(1)),
            epoch: Instant::now(),
            controller: Mutex::new(Controller::new(0.0)),
            throttles: Default::default(),
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn controller(&self) -> std::sync::MutexGuard<'_, Controller> {
        self.controller.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.pinned.unwrap_or_else(|| self.controller().limit())
    }

    /// The most that may ever be allowed.
    pub fn most(&self) -> usize {
        self.pinned.unwrap_or(MAX)
    }

    /// A request completed; see [`Controller::completed`].
    pub fn completed(&self, saturated: bool) {
        if self.pinned.is_none() {
            let now = self.now();
            self.controller().completed(now, saturated);
        }
    }

    /// S3 throttled a request.
    pub fn throttled(&self) {
        self.throttles
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.pinned.is_none() {
            let now = self.now();
            self.controller().throttled(now);
        }
    }

    /// Attempts S3 throttled so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn throttles(&self) -> u64 {
        self.throttles.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Tells the limiter about every attempt S3 throttled, retried by the SDK or not.
#[derive(Debug)]
pub(super) struct Throttles(pub Arc<Limiter>);

impl Intercept for Throttles {
    fn name(&self) -> &'static str {
        "vpce-audit throttling"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let slow_down = context
            .inner()
            .response()
            .is_some_and(|r| r.status().as_u16() == 503);
        let throttling = matches!(
            run_classifiers_on_ctx(runtime_components.retry_classifiers(), context.inner()),
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: RetryKind::ThrottlingError,
                ..
            })
        );
        if slow_down || throttling {
            self.0.throttled();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `seconds` of completions at the rate `rate(limit)` gives, saturated.
    fn run(c: &mut Controller, from: f64, seconds: f64, rate: impl Fn(usize) -> f64) -> f64 {
        let mut now = from;
        while now < from + seconds {
            now += 1.0 / rate(c.limit());
            c.completed(now, true);
        }
        now
    }

    #[test]
    fn it_climbs_while_more_in_flight_completes_more() {
        let mut c = Controller::new(0.0);
        assert_eq!(c.limit(), START);
        // Latency-bound: each request takes 28 ms whatever the number in flight.
        run(&mut c, 0.0, 5.0, |n| n as f64 / 0.028);
        assert_eq!(c.limit(), MAX);
    }

    #[test]
    fn it_stops_where_more_in_flight_no_longer_pays_and_steps_back() {
        let mut c = Controller::new(0.0);
        // Latency-bound up to 150 in flight, then the machine is the limit.
        let rate = |n: usize| (n.min(150)) as f64 / 0.028;
        let now = run(&mut c, 0.0, 3.0, rate);
        // 64 → 96 → 144 paid; 216 did not, so it went back to 144 and holds.
        assert_eq!(c.limit(), 144);
        let now = run(&mut c, now, HOLD - 1.0, rate);
        assert_eq!(c.limit(), 144);
        // After the hold it tries again, and steps back again.
        run(&mut c, now, 3.0, rate);
        assert_eq!(c.limit(), 144);
    }

    #[test]
    fn it_does_not_climb_when_something_else_holds_the_downloads_back() {
        let mut c = Controller::new(0.0);
        let mut now = 0.0;
        for _ in 0..10_000 {
            now += 0.001;
            c.completed(now, false);
        }
        assert_eq!(c.limit(), START);
    }

    #[test]
    fn throttling_halves_it_once_per_cool_down_and_holds() {
        let mut c = Controller::new(0.0);
        c.throttled(1.0);
        assert_eq!(c.limit(), START / 2);
        // A burst of throttled requests is one event.
        for i in 0..50 {
            c.throttled(1.0 + i as f64 * 0.01);
        }
        assert_eq!(c.limit(), START / 2);
        c.throttled(1.0 + COOL_DOWN);
        assert_eq!(c.limit(), START / 4);
        // Held: no raise before the hold ends, however fast it goes.
        let now = run(&mut c, 2.0, HOLD - 1.5, |n| n as f64 / 0.028);
        assert_eq!(c.limit(), START / 4);
        run(&mut c, now, 3.0, |n| n as f64 / 0.028);
        assert!(c.limit() > START / 4);
        // Never below MIN.
        let mut c = Controller::new(0.0);
        for i in 0..20 {
            c.throttled(i as f64 * COOL_DOWN);
        }
        assert_eq!(c.limit(), MIN);
    }

    #[test]
    fn a_pinned_limiter_never_moves() {
        let l = Limiter::new(Some(3));
        for _ in 0..1000 {
            l.completed(true);
        }
        l.throttled();
        assert_eq!((l.limit(), l.most(), l.throttles()), (3, 3, 1));
    }
}
