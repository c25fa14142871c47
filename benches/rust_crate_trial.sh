#!/usr/bin/env bash
# A public Rust CLI gated as a new user would, with no code change: xsv
# 0.13.0 from crates.io (BurntSushi's CSV toolkit) over a generated 12 MB
# CSV file. `memgate init`, the workloads filled in (`xsv stats
# --everything` and `xsv frequency`, collect: [malloc] as init wrote it),
# run, baseline save; then checks: A/A quiet, A/A beside a CPU-bound
# neighbour (ended by PID), one more allocation per record in stats' loop,
# and every record kept to the end (retention), with `memgate explain` on
# the allocation that grew. Prints each check's exit code and its
# regressions.
# usage: benches/rust_crate_trial.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/benches/lib.sh"
trap end_neighbours EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
M=$root/target/release/memgate
tmp=$(mktemp -d)
cd "$tmp"
curl -sSfL -o xsv.crate https://static.crates.io/crates/xsv/xsv-0.13.0.crate || exit 2
tar xzf xsv.crate
python3 - <<'P'
import random
r = random.Random(7)
cities = ["Berlin", "Paris", "Lyon", "Oslo", "Rome", "Madrid", "Porto", "Vienna", "Prague", "Dublin"]
with open("data.csv", "w") as f:
    f.write("id,city,country,population,lat,lon,name,score\n")
    for i in range(200000):
        f.write(f"{i},{r.choice(cities)},C{r.randint(1, 60)},{r.randint(100, 9000000)},"
                f"{r.uniform(-90, 90):.5f},{r.uniform(-180, 180):.5f},name{r.randint(0, 99999)},{r.gauss(50, 10):.3f}\n")
P
cd xsv-0.13.0
# Dependencies pinned: the lock file of the recorded trial.
cp "$root/fixtures/rust-trials/xsv-0.13.0.Cargo.lock" Cargo.lock
"$M" init >/dev/null 2>&1
grep -q "collect: \[malloc\]" memgate.yaml || { echo "init did not write the malloc counter"; exit 2; }
python3 - "$tmp/data.csv" <<'P'
import sys
data = sys.argv[1]
s = open("memgate.yaml").read()
i = s.index("workloads: []")
s = s[:i] + f"""workloads:
  - name: xsv-stats
    lang: rust
    build: cargo build --release --locked --bin xsv
    run: target/release/xsv stats --everything {data}
    collect: [malloc]
  - name: xsv-frequency
    lang: rust
    build: cargo build --release --locked --bin xsv
    run: target/release/xsv frequency -s city,country {data}
    collect: [malloc]
"""
open("memgate.yaml", "w").write(s)
P
"$M" run >/dev/null 2>run.log || { tail run.log; exit 2; }
"$M" baseline save .memgate/results.json >/dev/null 2>&1
check() {
  local what=$1 rc=0
  "$M" check >check.txt 2>check.log || rc=$?
  echo "$what: exit $rc"
  grep -E "^regression " check.txt | cut -c1-150 | sed 's/^/  /' || true
}
check "A/A quiet"
neighbours 1
check "A/A beside a CPU-bound neighbour"
quiet
cp src/cmd/stats.rs stats.rs.orig
python3 - <<'P'
p = "src/cmd/stats.rs"; s = open(p).read()
s = s.replace("""            let row = row?;
            for (i, field) in sel.select(&row).enumerate() {""", """            let row = row?;
            let extra: Vec<u8> = row.as_slice().to_vec();
            ::std::hint::black_box(&extra);
            for (i, field) in sel.select(&row).enumerate() {""", 1)
open(p, "w").write(s)
P
check "one more allocation per record"
explain_largest heap.alloc.bytes
cp stats.rs.orig src/cmd/stats.rs
python3 - <<'P'
p = "src/cmd/stats.rs"; s = open(p).read()
s = s.replace("""        for row in it {
            let row = row?;
            for (i, field)""", """        let mut retained = Vec::new();
        for row in it {
            let row = row?;
            retained.push(row.clone());
            for (i, field)""", 1)
s = s.replace("""        }
        Ok(stats)""", """        }
        ::std::hint::black_box(&retained);
        Ok(stats)""", 1)
open(p, "w").write(s)
P
check "every record retained"
cp stats.rs.orig src/cmd/stats.rs
check "A/A again, the source restored"
rm -rf "$tmp"
