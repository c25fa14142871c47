//! concurrent: threads allocating buffers that other threads free, across
//! thread boundaries, through channels. Moves heap.alloc.bytes and the
//! allocator's per-thread caches (RSS, fragmentation).

use std::sync::mpsc;

use memgate_workloads::{Params, run};

fn concurrent(p: &Params) -> Vec<Vec<u8>> {
    const PRODUCERS: usize = 4;
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(256);
    let per = p.n / PRODUCERS;
    // Sizes are drawn up front, so the totals do not depend on scheduling.
    let sizes: Vec<Vec<usize>> = (0..PRODUCERS).map(|_| (0..per).map(|_| p.between(64, 2048)).collect()).collect();
    let kept = std::thread::scope(|s| {
        for mine in &sizes {
            let tx = tx.clone();
            s.spawn(move || {
                for (i, &size) in mine.iter().enumerate() {
                    if tx.send(vec![i as u8; size]).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let consumer = s.spawn(move || {
            let mut kept = Vec::new();
            for (i, buf) in rx.into_iter().enumerate() {
                // Freed here, on another thread than the one that allocated it.
                if i % 64 == 0 {
                    kept.push(buf);
                }
            }
            kept
        });
        consumer.join().unwrap_or_default()
    });
    kept
}

fn main() {
    run(160_000, concurrent);
}
