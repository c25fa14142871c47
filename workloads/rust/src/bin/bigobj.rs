//! bigobj: large buffers (32 KiB to 1 MiB) of mixed sizes, a window of 16
//! kept. Moves heap.alloc.bytes and process.rss.peak: large allocations go
//! straight to mmap in most allocators.

use memgate_workloads::{Params, run, touch};

fn bigobj(p: &Params) -> Vec<Vec<u8>> {
    let mut window: Vec<Vec<u8>> = (0..16).map(|_| Vec::new()).collect();
    for i in 0..p.n {
        let mut b = vec![0u8; p.between(32 << 10, 1 << 20)];
        touch(&mut b);
        window[i % 16] = b;
    }
    window
}

fn main() {
    run(1500, bigobj);
}
