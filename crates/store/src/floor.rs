//! The floor the durable queue is measured against (for the benchmark,
//! behind the `floor` feature): sled's own rate of single durable writes.
//! It lives here because only this crate may use sled.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// sled's own rate of durable single writes (insert then flush, 100-byte
/// values): one writer for 2 s, then `writers` threads for `concurrent_for`.
pub fn sled_rates(
    dir: &std::path::Path,
    writers: u64,
    concurrent_for: Duration,
) -> sled::Result<(f64, f64)> {
    let db = sled::Config::new().path(dir.join("raw-sled")).open()?;
    let value = vec![7u8; 100];
    let serial = {
        let deadline = Instant::now() + Duration::from_secs(2);
        let started = Instant::now();
        let mut n = 0u64;
        while Instant::now() < deadline {
            db.insert(n.to_be_bytes(), value.as_slice())?;
            db.flush()?;
            n += 1;
        }
        n as f64 / started.elapsed().as_secs_f64()
    };
    // Threads, not tasks: sled's flush blocks its caller.
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + concurrent_for;
    let started = Instant::now();
    let writers: Vec<_> = (0..writers)
        .map(|w| {
            let (db, done, value) = (db.clone(), done.clone(), value.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let key = (w << 40 | n).to_be_bytes();
                    db.insert(key, value.as_slice()).expect("insert");
                    db.flush().expect("flush");
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    for writer in writers {
        writer
            .join()
            .map_err(|_| std::io::Error::other("a sled writer panicked"))?;
    }
    let concurrent = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    Ok((serial, concurrent))
}
