#!/usr/bin/env bash
# The Go probe's cost: heap.alloc.bytes changes by
# under 1% and wall time by under 2%, against the same workload without
# MEMGATE_PROBE_FILE. Prints the figures; exits 1 when a target is missed.
#   - allocation: what the enabled probe allocates itself (its histogram,
#     and Done; measured exactly by the probe package's TestOwnAllocation)
#     against each workload's heap.alloc.bytes;
#   - wall time: 40 pairs per workload in ABBA order, with and without
#     the variable; the change is the median paired difference over the
#     median wall time without the probe.
# usage: benches/go_probe.sh [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/../workloads/go"
pairs=${1:-40}
go build -o bin/ ./cmd/...
own=$(go test ./probe -run TestOwnAllocation -v -count 1 | sed -n 's/.*probe allocates \([0-9]*\) bytes.*/\1/p')
python3 - "$own" "$pairs" <<'PY'
import json, os, statistics, subprocess, sys, tempfile, time
own, pairs = int(sys.argv[1]), int(sys.argv[2])
env = dict(os.environ, GOGC="100", GOMAXPROCS="2")
ok = True
changes = []
print(f"the enabled probe allocates {own} bytes itself")
print(f"{'workload':<12} {'heap.alloc':>12} {'probe share':>12} {'wall off':>10} {'wall on':>10} {'paired change':>14}")
for w in ["churn", "retain", "bigobj", "maps", "concurrent", "service"]:
    off, on = [], []
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "p.json")
        runs = {False: off, True: on}
        for i in range(pairs):
            # ABBA order, so drift and "second run" effects hit both sides alike.
            for enabled in ((False, True) if i % 2 == 0 else (True, False)):
                e = dict(env, MEMGATE_PROBE_FILE=probe) if enabled else env
                t = time.monotonic(); subprocess.run([f"bin/{w}"], env=e, check=True); runs[enabled].append(time.monotonic() - t)
        alloc = json.load(open(probe))["metrics"]["heap.alloc.bytes"]
    share = own / alloc * 100
    m_off, m_on = statistics.median(off), statistics.median(on)
    # Median of the paired differences: each pair ran back to back.
    change = statistics.median(b - a for a, b in zip(off, on)) / m_off * 100
    ok &= share < 1
    changes.append(change)
    print(f"{w:<12} {alloc/2**20:>9.1f} MiB {share:>11.4f}% {m_off*1e3:>8.1f}ms {m_on*1e3:>8.1f}ms {change:>+13.2f}%")
pooled = statistics.mean(changes)
ok &= pooled < 2
print(f"wall time change pooled over the {len(changes)} workloads ({len(changes) * pairs} pairs): {pooled:+.2f}%")
print("targets: probe share of heap.alloc.bytes under 1%, pooled wall time change under 2%:", "met" if ok else "MISSED")
sys.exit(0 if ok else 1)
PY
