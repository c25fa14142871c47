//! churn: many short-lived Vec/String/Box allocations per request, with a
//! small working set of recent requests kept. Moves heap.alloc.bytes and
//! heap.alloc.objects; the live heap stays small and unfragmented.

use std::collections::VecDeque;

use memgate_workloads::{Params, run};

struct Request {
    id: usize,
    body: Vec<u8>,
    headers: String,
}

fn churn(p: &Params) -> VecDeque<Box<Request>> {
    let mut recent = VecDeque::with_capacity(4096);
    for id in 0..p.n {
        let body = vec![id as u8; p.between(256, 1024)];
        let headers = "h".repeat(p.between(64, 256));
        let r = Box::new(Request { id, body, headers });
        if recent.len() == 4096 {
            recent.pop_front();
        }
        recent.push_back(r);
    }
    let sum: usize = recent.iter().map(|r| r.id + r.body.len() + r.headers.len()).sum();
    std::hint::black_box(sum);
    recent
}

fn main() {
    run(200_000, churn);
}
