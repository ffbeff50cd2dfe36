//! Where a guest's stdout and stderr go: an in-memory log that never fails
//! the guest. A full buffer drops the oldest bytes (the tail is what callers
//! read) instead of erroring, because a failed write makes Rust's `println!`
//! trap the guest.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Shared by the guest's stdout and stderr, in write order.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<Buffer>>,
}

struct Buffer {
    bytes: VecDeque<u8>,
    capacity: usize,
    dropped: u64,
}

impl GuestOutput {
    /// Keeps the last `capacity` bytes written.
    pub fn new(capacity: usize) -> Self {
        GuestOutput {
            inner: Arc::new(Mutex::new(Buffer {
                bytes: VecDeque::new(),
                capacity,
                dropped: 0,
            })),
        }
    }

    fn append(&self, data: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let capacity = buf.capacity;
        let data = if data.len() > capacity {
            buf.dropped += (data.len() - capacity) as u64;
            &data[data.len() - capacity..]
        } else {
            data
        };
        let overflow = (buf.bytes.len() + data.len()).saturating_sub(capacity);
        if overflow > 0 {
            buf.bytes.drain(..overflow);
            buf.dropped += overflow as u64;
        }
        buf.bytes.extend(data);
    }

    /// What was kept, and how many earlier bytes were dropped.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = std::mem::take(&mut buf.bytes).into();
        (bytes, std::mem::take(&mut buf.dropped))
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// The most a guest may write in one call; any size works, this just keeps
/// single writes reasonable.
const WRITE_BUDGET: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_and_counts_what_it_dropped() {
        let out = GuestOutput::new(8);
        out.append(b"hello ");
        out.append(b"world");
        let (kept, dropped) = out.take();
        assert_eq!(kept, b"lo world");
        assert_eq!(dropped, 3);
        out.append(b"0123456789ab");
        assert_eq!(out.take(), (b"456789ab".to_vec(), 4));
    }
}
