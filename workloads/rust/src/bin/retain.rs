//! retain: a HashMap cache that grows to 12,000 entries and is evicted
//! first-in first-out. Moves heap.peak.bytes and heap.end.bytes (retained
//! memory) and the allocation rate.

use std::collections::{HashMap, VecDeque};

use memgate_workloads::{Params, run, touch};

fn retain(p: &Params) -> HashMap<usize, Vec<u8>> {
    const CAPACITY: usize = 12_000;
    let mut cache = HashMap::with_capacity(CAPACITY);
    let mut order = VecDeque::with_capacity(CAPACITY);
    for i in 0..p.n {
        if order.len() == CAPACITY
            && let Some(old) = order.pop_front()
        {
            cache.remove(&old);
        }
        let mut v = vec![0u8; p.between(512, 4096)];
        touch(&mut v);
        cache.insert(i, v);
        order.push_back(i);
    }
    cache
}

fn main() {
    run(60_000, retain);
}
