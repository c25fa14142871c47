//! retain: a HashMap cache that grows to 12,000 entries and is evicted
//! first-in first-out. Moves heap.peak.bytes and heap.end.bytes (retained
//! memory) and the allocation rate. Two named allocation sites,
//! `new_entry` (the values) and `new_label` (a small string per entry):
//! `-grow` multiplies `new_entry`'s sizes alone, the known regression of
//! one site that memgate's attribution must name.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, DefaultHasher};

use memgate_workloads::{Params, run, touch};

/// A fixed-key hasher: with std's random one, where deletions leave
/// tombstones differs run to run, and the map sometimes grows (a 1.9 MB
/// allocation in one run of several) instead of rehashing in place.
type Fixed = BuildHasherDefault<DefaultHasher>;

fn retain(p: &Params) -> HashMap<usize, (Vec<u8>, String), Fixed> {
    const CAPACITY: usize = 12_000;
    let mut cache = HashMap::with_capacity_and_hasher(CAPACITY, Fixed::default());
    let mut order = VecDeque::with_capacity(CAPACITY);
    for i in 0..p.n {
        if order.len() == CAPACITY
            && let Some(old) = order.pop_front()
        {
            cache.remove(&old);
        }
        cache.insert(i, (new_entry(p), new_label(i)));
        order.push_back(i);
    }
    cache
}

/// One cached value, its pages touched.
#[inline(never)]
fn new_entry(p: &Params) -> Vec<u8> {
    let mut v = vec![0u8; (p.between(512, 4096) as f64 * p.grow) as usize];
    touch(&mut v);
    v
}

/// The small label kept beside each value.
#[inline(never)]
fn new_label(i: usize) -> String {
    format!("entry-{i}")
}

fn main() {
    run(60_000, retain);
}
