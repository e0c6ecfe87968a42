//! Streaming GetObject into blocking readers, ahead of them, within a memory budget.
//!
//! Objects are announced in reading order ([`Fetcher::want`]) before a worker opens
//! them, and downloads start from the front of that queue while the [`Limiter`] allows
//! another request in flight and the budget has room. Every download reserves its share
//! of the budget before it starts: [`OVERHEAD`] for the request (released when the
//! response is complete) plus the body bytes it may buffer (the listed size, between
//! [`MIN_BODY`] and [`MAX_BODY`], released when the reader is done). A download never
//! buffers more than its share: each chunk waits for room in it and frees it when read.
//! So the bytes held by downloads stay under [`BUDGET`] whatever the number in flight or
//! the object sizes. Each download is a task on the session's runtime that pushes body
//! chunks into a channel; the pipeline's worker reads them through [`Body`], a plain
//! [`Read`]. A worker that opens an object whose download has not started takes room
//! from the furthest download ahead of it rather than wait behind it.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_s3::Client;
use bytes::{Buf, Bytes};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use super::error::{from_body, from_sdk, Action, Error};
use super::limit::Limiter;
use super::progress::Progress;
use super::ObjectCounts;

/// The bytes all downloads together may hold: request overheads and buffered bodies.
pub const BUDGET: usize = 48 << 20;
/// What one request in flight is counted as, besides its body: connection buffers,
/// the SDK's state, the task (measured: about 90 KiB each with a thousand in flight).
pub const OVERHEAD: usize = 96 << 10;
/// The least body share of a download (small objects).
pub const MIN_BODY: usize = 4 << 10;
/// The most body bytes one download buffers ahead of its reader.
pub const MAX_BODY: usize = 1 << 20;

/// A chunk of a body with its share of the budget, freed when it has been read.
type Chunk = Result<(Bytes, OwnedSemaphorePermit), Error>;

/// An object to download.
#[derive(Clone, Debug)]
pub(super) struct Wanted {
    /// Its place in reading order.
    pub id: u64,
    pub bucket: Arc<str>,
    pub key: Arc<str>,
    pub size: u64,
}

impl Wanted {
    fn body_share(&self) -> usize {
        usize::try_from(self.size)
            .unwrap_or(usize::MAX)
            .clamp(MIN_BODY, MAX_BODY)
    }
}

/// A download under way or done, not yet taken by a reader.
struct Started {
    wanted: Wanted,
    chunks: mpsc::UnboundedReceiver<Chunk>,
    /// The body's share of the budget.
    body: OwnedSemaphorePermit,
    task: AbortHandle,
}

struct State {
    /// Announced, not started, in reading order.
    queue: VecDeque<Wanted>,
    started: BTreeMap<u64, Started>,
    /// Requests whose response has not ended.
    in_flight: usize,
}

struct Inner {
    client: Client,
    runtime: Handle,
    state: Mutex<State>,
    /// Signalled when a download ends or a reader frees its share.
    freed: Condvar,
    budget: Arc<Semaphore>,
    limiter: Arc<Limiter>,
    progress: Progress,
    counters: Arc<ObjectCounts>,
}

/// The downloads of a session.
pub(super) struct Fetcher {
    inner: Arc<Inner>,
}

/// A download handed to a reader.
pub(super) struct Download {
    chunks: mpsc::UnboundedReceiver<Chunk>,
    /// The body's share of the budget, freed when the reader is done.
    _body: OwnedSemaphorePermit,
}

impl Fetcher {
    pub fn new(
        client: Client,
        runtime: Handle,
        limiter: Arc<Limiter>,
        progress: Progress,
        counters: Arc<ObjectCounts>,
    ) -> Self {
        Fetcher {
            inner: Arc::new(Inner {
                client,
                runtime,
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    started: BTreeMap::new(),
                    in_flight: 0,
                }),
                freed: Condvar::new(),
                budget: Arc::new(Semaphore::new(BUDGET)),
                limiter,
                progress,
                counters,
            }),
        }
    }

    /// Announces an object a reader will open, after those announced before.
    pub fn want(&self, wanted: Wanted) {
        let mut state = self.inner.lock();
        state.queue.push_back(wanted);
        self.inner.pump(&mut state);
    }

    /// The download of `wanted`, started now unless it already is. Waits only while
    /// the budget or the limit is taken by downloads other readers are reading.
    pub fn claim(&self, wanted: Wanted) -> Download {
        let inner = &self.inner;
        let mut state = inner.lock();
        loop {
            if let Some(started) = state.started.remove(&wanted.id) {
                return inner.hand_over(started);
            }
            // In the queue in its place, so that it is the next to start.
            if !state.queue.iter().any(|w| w.id == wanted.id) {
                let at = state
                    .queue
                    .iter()
                    .position(|w| w.id > wanted.id)
                    .unwrap_or(state.queue.len());
                state.queue.insert(at, wanted.clone());
            }
            inner.pump(&mut state);
            if let Some(started) = state.started.remove(&wanted.id) {
                return inner.hand_over(started);
            }
            let limited = state.in_flight >= inner.limiter.limit();
            // Make room: cancel the furthest download ahead of this one (one still in
            // flight if the limit is what is taken).
            let furthest = state
                .started
                .iter()
                .rev()
                .take_while(|(&id, _)| id > wanted.id)
                .find(|(_, s)| !limited || !s.task.is_finished())
                .map(|(&id, _)| id);
            if let Some(id) = furthest {
                let started = state.started.remove(&id).expect("listed");
                started.task.abort();
                let at = state
                    .queue
                    .iter()
                    .position(|w| w.id > id)
                    .unwrap_or(state.queue.len());
                state.queue.insert(at, started.wanted);
                // The body's share comes back now, the request's when the task is gone.
                drop(started.body);
            }
            state = inner
                .freed
                .wait_timeout(state, Duration::from_millis(20))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts downloads from the front of the queue while the limit and budget allow.
    fn pump(self: &Arc<Self>, state: &mut State) {
        while let Some(front) = state.queue.front() {
            if state.in_flight >= self.limiter.limit() {
                break;
            }
            let need = front.body_share() + OVERHEAD;
            let Ok(permit) = self.budget.clone().try_acquire_many_owned(need as u32) else {
                break;
            };
            let wanted = state.queue.pop_front().expect("a front");
            let started = self.start(state, wanted, permit);
            state.started.insert(started.wanted.id, started);
        }
    }

    fn start(
        self: &Arc<Self>,
        state: &mut State,
        wanted: Wanted,
        mut permit: OwnedSemaphorePermit,
    ) -> Started {
        let overhead = permit
            .split(OVERHEAD)
            .expect("the permit holds the overhead");
        let (tx, rx) = mpsc::unbounded_channel();
        state.in_flight += 1;
        let share = Arc::new(Semaphore::new(wanted.body_share()));
        let task = self.runtime.spawn(download(
            Arc::clone(self),
            wanted.clone(),
            share,
            tx,
            overhead,
        ));
        Started {
            wanted,
            chunks: rx,
            body: permit,
            task: task.abort_handle(),
        }
    }

    fn hand_over(&self, started: Started) -> Download {
        Download {
            chunks: started.chunks,
            _body: started.body,
        }
    }

    /// A response ended (complete, failed or aborted).
    fn ended(self: &Arc<Self>) {
        let mut state = self.lock();
        let saturated = !state.queue.is_empty() && state.in_flight >= self.limiter.limit();
        state.in_flight -= 1;
        self.limiter.completed(saturated);
        self.pump(&mut state);
        drop(state);
        self.freed.notify_all();
    }

    /// A reader freed budget.
    fn freed(self: &Arc<Self>) {
        let mut state = self.lock();
        self.pump(&mut state);
        drop(state);
        self.freed.notify_all();
    }
}

/// Counts a response as ended when dropped, however the download task ends.
struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.ended();
    }
}

/// Downloads one object into `tx`, each chunk within the download's `share`.
async fn download(
    inner: Arc<Inner>,
    wanted: Wanted,
    share: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Chunk>,
    _overhead: OwnedSemaphorePermit,
) {
    let _in_flight = InFlight(Arc::clone(&inner));
    let (bucket, key) = (&*wanted.bucket, &*wanted.key);
    let response = inner
        .client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await;
    let mut body = match response {
        Ok(out) => out.body,
        Err(e) => {
            let _ = tx.send(Err(from_sdk(Action::Get(bucket, key), e)));
            return;
        }
    };
    let most = wanted.body_share();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(bytes) => {
                let take = bytes.len().clamp(1, most) as u32;
                let Ok(permit) = share.clone().acquire_many_owned(take).await else {
                    return;
                };
                Ok((bytes, permit))
            }
            Err(e) => Err(from_body(bucket, key, &e)),
        };
        let failed = chunk.is_err();
        if tx.send(chunk).is_err() || failed {
            return;
        }
    }
}

/// The bytes of one object as a blocking reader.
pub(super) struct Body {
    download: Option<Download>,
    chunk: Bytes,
    /// The share of the chunk being read.
    held: Option<OwnedSemaphorePermit>,
    fetcher: Arc<Inner>,
}

impl Body {
    pub fn new(fetcher: &Fetcher, download: Download) -> Self {
        Body {
            download: Some(download),
            chunk: Bytes::new(),
            held: None,
            fetcher: Arc::clone(&fetcher.inner),
        }
    }

    fn finish(&mut self) {
        if let Some(mut download) = self.download.take() {
            download.chunks.close();
            self.held = None;
            drop(download);
            self.fetcher.progress.object_done();
            self.fetcher.freed();
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            self.held = None;
            let Some(download) = &mut self.download else {
                return Ok(0);
            };
            match download.chunks.blocking_recv() {
                Some(Ok((chunk, permit))) => {
                    self.fetcher.progress.bytes(chunk.len());
                    self.fetcher.counters.add_bytes(chunk.len() as u64);
                    self.chunk = chunk;
                    self.held = Some(permit);
                }
                Some(Err(e)) => {
                    self.finish();
                    return Err(io::Error::other(e));
                }
                None => {
                    self.fetcher.counters.add_read();
                    self.finish();
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.finish();
    }
}
