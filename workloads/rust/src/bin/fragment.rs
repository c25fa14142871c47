//! fragment: interleaved allocation of mixed sizes, then every other block
//! freed and the survivors kept. The live heap halves while the allocator's
//! resident pages stay: alloc.fragmentation (jemalloc) is high, against
//! churn's low.

use memgate_workloads::{Params, run};

fn fragment(p: &Params) -> Vec<Vec<u8>> {
    let mut blocks: Vec<Vec<u8>> = Vec::with_capacity(p.n);
    for i in 0..p.n {
        blocks.push(vec![i as u8; p.between(32, 2048)]);
    }
    // Free every other block: holes of every size, all over the heap.
    let mut i = 0;
    blocks.retain(|_| {
        i += 1;
        i % 2 == 0
    });
    blocks
}

fn main() {
    run(60_000, fragment);
}
