#!/usr/bin/env bash
# The Rust counting probe's cost: under 5% wall
# time on churn in release mode, and no change to any allocation count.
#   - wall time: churn built with the counting wrapper as a team links it
#     (no features), with its `peak` feature (the bundled workloads'), and
#     without the wrapper (feature `uncounted`), 40 rounds in rotating
#     order, median paired difference over the uncounted median; the
#     target applies to the wrapper without `peak`;
#   - allocation counts: dhat-rs's totals for churn with and without the
#     wrapper in front of it must be identical.
# usage: benches/rust_probe.sh [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/../workloads/rust"
pairs=${1:-40}
build() { cargo build --release --locked --quiet --bin churn --target-dir "target/$1" ${2:+--features "$2"} ${3:-}; }
build bench-counted "" --no-default-features
build bench-peak ""
build bench-uncounted uncounted
build dhat dhat-heap
build dhat-uncounted "dhat-heap uncounted"
python3 - "$pairs" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time
pairs = int(sys.argv[1])
names = ["uncounted", "counted", "peak"]
runs = {n: [] for n in names}
for i in range(pairs):
    order = names[i % 3:] + names[:i % 3]
    for which in order:
        t = time.monotonic()
        subprocess.run([f"target/bench-{which}/release/churn"], check=True, stdout=subprocess.DEVNULL)
        runs[which].append(time.monotonic() - t)
off = runs["uncounted"]
def change(which):
    return statistics.median(b - a for a, b in zip(off, runs[which])) / statistics.median(off) * 100
change_counted, change_peak = change("counted"), change("peak")
print(f"churn wall: uncounted {statistics.median(off)*1e3:.1f} ms, counted {statistics.median(runs['counted'])*1e3:.1f} ms "
      f"({change_counted:+.2f}%, target under 5%), counted with peak {statistics.median(runs['peak'])*1e3:.1f} ms "
      f"({change_peak:+.2f}%), median paired changes over {pairs} rounds")
change = change_counted
totals = {}
with tempfile.TemporaryDirectory() as tmp:
    for which, target in (("counted", "dhat"), ("uncounted", "dhat-uncounted")):
        # Same path length on both sides: the program allocates copies of it.
        # Same lengths of binary path and output path on both sides: the
        # program allocates copies of its arguments and environment.
        d = os.path.join(tmp, which[0]); os.makedirs(d)
        shutil.copy(f"target/{target}/release/churn", d)
        f = os.path.join(d, "dhat.json")
        subprocess.run([os.path.join(d, "churn")], env=dict(os.environ, MEMGATE_DHAT_FILE=f), check=True, stderr=subprocess.DEVNULL)
        pps = json.load(open(f))["pps"]
        totals[which] = (sum(p["tb"] for p in pps), sum(p["tbk"] for p in pps))
same = totals["counted"] == totals["uncounted"]
print(f"dhat-rs totals (bytes, blocks): with the probe {totals['counted']}, without {totals['uncounted']}: {'identical' if same else 'DIFFERENT'}")
sys.exit(0 if change < 5 and same else 1)
PY
