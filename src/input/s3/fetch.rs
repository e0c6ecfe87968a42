//! Streaming GetObject into blocking readers, at most `--s3-concurrency` at once.
//!
//! Each download is a task on the module's tokio runtime that pushes body chunks into a
//! bounded channel; the pipeline's worker reads them through [`Body`], a plain
//! [`Read`]. Memory per object is bounded by [`CHUNKS`] chunks however large the object.
//! When a worker opens an object, the next objects in listing order are started too, as
//! far as free download slots allow, so the network stays busy while records are parsed
//! (and a sequential reader such as `requests` still downloads in parallel). A worker
//! that finds every slot taken by such read-ahead cancels the furthest one instead of
//! waiting on it, so read-ahead can never starve the readers.

use std::io::{self, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_sdk_s3::Client;
use bytes::{Buf, Bytes};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use super::error::{from_body, from_sdk, Action, Error, ErrorKind};
use super::progress::Progress;
use super::ObjectCounts;

/// Body chunks buffered per download (a chunk is what one socket read returned,
/// typically 8–64 KiB).
pub const CHUNKS: usize = 16;

type Chunk = Result<Bytes, Error>;

/// One object known to the fetcher.
struct Entry {
    bucket: Arc<str>,
    key: Arc<str>,
    state: State,
}

enum State {
    /// Not downloading.
    Idle,
    /// Downloading ahead of any reader.
    Ahead {
        chunks: mpsc::Receiver<Chunk>,
        task: AbortHandle,
    },
    /// Handed to a reader.
    Taken,
}

/// The downloads of a session.
pub(super) struct Fetcher {
    client: Client,
    entries: Mutex<Vec<Entry>>,
    slots: Arc<Semaphore>,
    concurrency: usize,
}

impl Fetcher {
    pub fn new(client: Client, concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Fetcher {
            client,
            entries: Mutex::new(Vec::new()),
            slots: Arc::new(Semaphore::new(concurrency)),
            concurrency,
        }
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers an object; returns its index.
    pub fn add(&self, bucket: Arc<str>, key: Arc<str>) -> usize {
        let mut entries = self.entries();
        entries.push(Entry {
            bucket,
            key,
            state: State::Idle,
        });
        entries.len() - 1
    }

    /// The chunks of object `index`, downloading it unless it already is; blocks only
    /// while every download slot is busy with an object someone is reading.
    pub fn claim(&self, runtime: &Runtime, index: usize) -> Result<mpsc::Receiver<Chunk>, Error> {
        loop {
            {
                let mut entries = self.entries();
                match std::mem::replace(&mut entries[index].state, State::Taken) {
                    State::Ahead { chunks, .. } => {
                        self.read_ahead(runtime, &mut entries, index);
                        return Ok(chunks);
                    }
                    State::Taken => {
                        return Err(Error::new(ErrorKind::Other, "object opened twice"));
                    }
                    State::Idle => {}
                }
                if let Ok(slot) = self.slots.clone().try_acquire_owned() {
                    let chunks = self.start(runtime, &entries[index], slot).0;
                    self.read_ahead(runtime, &mut entries, index);
                    return Ok(chunks);
                }
                entries[index].state = State::Idle;
                if let Some(furthest) = entries
                    .iter_mut()
                    .rev()
                    .find(|e| matches!(e.state, State::Ahead { .. }))
                {
                    if let State::Ahead { task, .. } =
                        std::mem::replace(&mut furthest.state, State::Idle)
                    {
                        task.abort();
                    }
                }
            }
            let slots = self.slots.clone();
            let waited = runtime.block_on(async move {
                tokio::time::timeout(Duration::from_millis(100), slots.acquire_owned()).await
            });
            if let Ok(Ok(slot)) = waited {
                let mut entries = self.entries();
                if matches!(entries[index].state, State::Idle) {
                    entries[index].state = State::Taken;
                    let chunks = self.start(runtime, &entries[index], slot).0;
                    self.read_ahead(runtime, &mut entries, index);
                    return Ok(chunks);
                }
            }
        }
    }

    /// Starts the objects after `index` while download slots are free.
    fn read_ahead(&self, runtime: &Runtime, entries: &mut [Entry], index: usize) {
        let end = entries.len().min(index + 1 + self.concurrency);
        for entry in &mut entries[index + 1..end] {
            if !matches!(entry.state, State::Idle) {
                continue;
            }
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                return;
            };
            let (chunks, task) = self.start(runtime, entry, slot);
            entry.state = State::Ahead { chunks, task };
        }
    }

    fn start(
        &self,
        runtime: &Runtime,
        entry: &Entry,
        slot: OwnedSemaphorePermit,
    ) -> (mpsc::Receiver<Chunk>, AbortHandle) {
        let (tx, rx) = mpsc::channel(CHUNKS);
        let task = runtime.spawn(download(
            self.client.clone(),
            entry.bucket.clone(),
            entry.key.clone(),
            tx,
            slot,
        ));
        (rx, task.abort_handle())
    }
}

/// Downloads one object into `tx`; the slot is free again when it returns.
async fn download(
    client: Client,
    bucket: Arc<str>,
    key: Arc<str>,
    tx: mpsc::Sender<Chunk>,
    _slot: OwnedSemaphorePermit,
) {
    let response = client.get_object().bucket(&*bucket).key(&*key).send().await;
    let mut body = match response {
        Ok(out) => out.body,
        Err(e) => {
            let _ = tx.send(Err(from_sdk(Action::Get(&bucket, &key), e))).await;
            return;
        }
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| from_body(&bucket, &key, &e));
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            return;
        }
    }
}

/// The bytes of one object as a blocking reader.
pub(super) struct Body {
    chunks: mpsc::Receiver<Chunk>,
    chunk: Bytes,
    finished: bool,
    progress: Progress,
    counters: Arc<ObjectCounts>,
}

impl Body {
    pub fn new(
        chunks: mpsc::Receiver<Chunk>,
        progress: Progress,
        counters: Arc<ObjectCounts>,
    ) -> Self {
        Body {
            chunks,
            chunk: Bytes::new(),
            finished: false,
            progress,
            counters,
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.chunks.close();
            self.progress.object_done();
        }
    }
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            if self.finished {
                return Ok(0);
            }
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => {
                    self.progress.bytes(chunk.len());
                    self.counters.add_bytes(chunk.len() as u64);
                    self.chunk = chunk;
                }
                Some(Err(e)) => {
                    self.finish();
                    return Err(io::Error::other(e));
                }
                None => {
                    self.counters.add_read();
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
