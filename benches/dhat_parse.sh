#!/usr/bin/env bash
# DHAT parsing: a 50 MB DHAT file in under 1 s and
# under 4x its size in memory. The file is the recorded valgrind profile
# of the retain workload (fixtures/dhat/valgrind_retain.json) with its
# program points and frame table repeated to 50 MB; `memgate import
# --format dhat` reads it, and its wall time and peak RSS (VmHWM, polled)
# are reported. Exits 1 when a target is missed.
# usage: benches/dhat_parse.sh [MB]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-50}
cargo build --release --quiet
python3 - "$mb" <<'PY'
import json, os, subprocess, sys, tempfile, time
mb = int(sys.argv[1])
src = json.load(open("fixtures/dhat/valgrind_retain.json"))
pps, ftbl = src["pps"], src["ftbl"]
with tempfile.TemporaryDirectory() as tmp:
    big = os.path.join(tmp, "big.json")
    reps = 1
    while True:
        doc = dict(src, pps=pps * reps, ftbl=ftbl * reps)
        text = json.dumps(doc)
        if len(text) >= mb * 1_000_000:
            break
        reps = max(reps + 1, int(reps * mb * 1_000_000 / len(text)) + 1)
    open(big, "w").write(text)
    size = os.path.getsize(big)
    expected = sum(p["tb"] for p in pps) * reps
    t = time.monotonic()
    p = subprocess.Popen(["target/release/memgate", "import", "--format", "dhat", big, "-o", os.path.join(tmp, "r.json")],
                         stderr=subprocess.DEVNULL)
    hwm = 0
    while p.poll() is None:
        try:
            for line in open(f"/proc/{p.pid}/status"):
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        time.sleep(0.002)
    wall = time.monotonic() - t
    if p.returncode != 0:
        sys.exit(f"memgate import failed with {p.returncode}")
    got = json.load(open(os.path.join(tmp, "r.json")))["workloads"][0]["metrics"]["heap.alloc.bytes"]["samples"][0]
    assert got == expected, (got, expected)
    print(f"DHAT file {size/1e6:.1f} MB ({len(pps)*reps} program points): parsed in {wall:.3f} s (target under 1 s), "
          f"peak RSS {hwm/1e6:.1f} MB = {hwm/size:.2f}x the file (target under 4x)")
    sys.exit(0 if wall < 1 and hwm < 4 * size else 1)
PY
