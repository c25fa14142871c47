#!/usr/bin/env bash
# memgate's own overhead:
#   - 20 runs of a 0.5 s workload through `memgate run` (RSS sampling at
#     10ms) against the same 20 commands from a shell loop: within 2%;
#   - memgate's own peak RSS while doing it: under 20 MiB.
# Prints the figures; exits 1 when a target is missed.
# usage: benches/overhead.sh [RUNS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
secs=${2:-0.5}
cargo build --release --quiet
cargo build --release --quiet --locked --manifest-path workloads/rust/Cargo.toml --bin toucher
bin=$PWD/target/release/memgate
toucher=$PWD/workloads/rust/target/release/toucher
hold_ms=$(python3 -c "print(int($secs*1000))")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/memgate.yaml" <<YAML
version: 1
defaults: {repetitions: $runs, warmup: 0, sample_interval: 10ms}
workloads:
  - {name: hold, lang: other, run: [$toucher, -mib, 16, -hold-ms, $hold_ms]}
YAML

python3 - "$bin" "$tmp" "$toucher" "$hold_ms" "$runs" "$secs" <<'PY'
import os, statistics, subprocess, sys, time
bin, tmp, toucher, hold_ms, runs, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
loop = f'for i in $(seq {runs}); do "{toucher}" -mib 16 -hold-ms {hold_ms}; done'

def shell():
    t = time.monotonic()
    subprocess.run(["sh", "-c", loop], check=True)
    return time.monotonic() - t

def memgate():
    # memgate's own peak is its VmHWM, polled while it runs: wait4's
    # ru_maxrss would also count the children it reaped (go version, ...).
    t = time.monotonic()
    p = subprocess.Popen([bin, "run", "-c", tmp + "/memgate.yaml", "-o", tmp + "/r.json"], stderr=subprocess.DEVNULL)
    hwm = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    if p.returncode != 0:
        sys.exit(f"memgate run failed with {p.returncode}")
    return time.monotonic() - t, hwm

shells, mgs, hwms = [], [], []
for _ in range(3):  # interleaved, so drift hits both sides alike
    shells.append(shell())
    m, h = memgate()
    mgs.append(m); hwms.append(h)
s, m = statistics.median(shells), statistics.median(mgs)
over = (m - s) / s * 100
own = max(hwms) / 1024
print(f"workload: {runs} runs of {secs}s (toucher -mib 16), RSS sampling every 10ms; medians of 3 interleaved rounds")
print(f"shell loop      {s:8.3f} s   (rounds: {', '.join(f'{x:.3f}' for x in shells)})")
print(f"memgate run     {m:8.3f} s   (rounds: {', '.join(f'{x:.3f}' for x in mgs)})")
print(f"overhead        {over:+.2f}% (target within 2%)")
print(f"memgate own peak RSS (VmHWM) {own:.1f} MiB (target under 20 MiB)")
sys.exit(0 if over <= 2.0 and own < 20 else 1)
PY
