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
xsv_setup "$root"
cd xsv-0.13.0
"$M" init >/dev/null 2>&1 || { echo "memgate init failed"; exit 2; }
python3 - "$tmp/data.csv" <<'P'
import sys
data = sys.argv[1]
s = open("memgate.yaml").read()
# init's workloads (the crate's own tests) give way to two commands.
i = s.index("\nworkloads:") + 1
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
