//! service: a request loop that parses a payload, updates a session and
//! builds a response under allocator pressure, recording each request's
//! latency with the probe (latency.p50, latency.p99, latency.max).

use std::collections::HashMap;
use std::time::Instant;

use memgate_workloads::{Params, run};

struct Session {
    items: Vec<String>,
    state: Vec<u8>,
}

fn service(p: &Params) -> HashMap<usize, Session> {
    let mut sessions: HashMap<usize, Session> = HashMap::new();
    for i in 0..p.n {
        let start = Instant::now();
        let payload: String = (0..p.between(200, 1200)).map(|j| (b'a' + (j % 26) as u8) as char).collect();
        let fields: Vec<String> = payload.split('m').map(str::to_owned).collect();
        let s = sessions.entry(i % 2000).or_insert_with(|| Session { items: Vec::new(), state: Vec::new() });
        s.state = vec![0u8; p.between(256, 2048)];
        s.items = fields;
        let mut response = String::with_capacity(p.size(512));
        for f in &s.items {
            response.push_str(f);
        }
        std::hint::black_box(&response);
        memgate_probe::observe(start.elapsed());
    }
    sessions
}

fn main() {
    run(30_000, service);
}
