#!/usr/bin/env bash
# The Rust counting probe's cost: under 5% wall
# time on churn in release mode, and no change to any allocation count.
#   - wall time: churn built with and without the counting wrapper
#     (feature `uncounted`), 40 pairs in ABBA order, median paired
#     difference over the uncounted median;
#   - allocation counts: dhat-rs's totals for churn with and without the
#     wrapper in front of it must be identical.
# usage: benches/rust_probe.sh [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/../workloads/rust"
pairs=${1:-40}
build() { cargo build --release --locked --quiet --bin churn --target-dir "target/$1" ${2:+--features "$2"}; }
build bench-counted ""
build bench-uncounted uncounted
build dhat dhat-heap
build dhat-uncounted "dhat-heap uncounted"
python3 - "$pairs" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time
pairs = int(sys.argv[1])
runs = {"uncounted": [], "counted": []}
for i in range(pairs):
    for which in (("uncounted", "counted") if i % 2 == 0 else ("counted", "uncounted")):
        t = time.monotonic()
        subprocess.run([f"target/bench-{which}/release/churn"], check=True)
        runs[which].append(time.monotonic() - t)
off, on = runs["uncounted"], runs["counted"]
change = statistics.median(b - a for a, b in zip(off, on)) / statistics.median(off) * 100
print(f"churn wall: uncounted {statistics.median(off)*1e3:.1f} ms, counted {statistics.median(on)*1e3:.1f} ms, "
      f"median paired change {change:+.2f}% (target under 5%, {pairs} pairs)")
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
