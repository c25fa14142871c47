#!/usr/bin/env bash
# What memgate's malloc counter (`collect: [malloc]`, an LD_PRELOAD library)
# costs, beside the Rust probe and valgrind-dhat:
#   - per allocation: a C loop of malloc/free pairs (sizes 16 B to 4 KiB,
#     64 blocks live), ns per pair with and without the counter;
#   - on the bundled churn workload (600k allocations, 171 MB in ~50 ms):
#     wall time built without the probe (feature `uncounted`), that build
#     under the counter, under the counter recording stacks (as a profiled
#     run does: one per 512 KiB), the probe build (`peak`, as the bundled
#     workloads link it) and, a few runs, valgrind-dhat; medians over
#     rounds in rotating order, and each one's paired change over the plain
#     run;
#   - the counter's figures beside the probe's, on the same program;
#   - on a real allocation-heavy program nobody here wrote: xsv 0.13.0
#     (crates.io, dependencies pinned by fixtures/rust-trials) computing
#     `stats --everything` over a generated 12 MB CSV (5.4 M allocations,
#     325 MB, in about a second), plain, under the counter, and under the
#     counter recording stacks, rounds in rotating order.
# usage: benches/malloc_counter.sh [ROUNDS] [XSV_ROUNDS]
set -euo pipefail
rounds=${1:-21}
xsv_rounds=${2:-11}
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/benches/lib.sh"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
lib=$(ls -t "$root"/target/release/build/memgate-*/out/libmemgate_malloc.so | head -1)
[ -s "$lib" ] || { echo "no malloc counter was built (x86-64 glibc Linux only)"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/loop.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    void *ring[64] = {0};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        size_t size = 16 + (i * 7919) % 4080;
        char *p = malloc(size);
        p[0] = (char)i;
        free(ring[i & 63]);
        ring[i & 63] = p;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    for (int i = 0; i < 64; i++) free(ring[i]);
    printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
    return 0;
}
C
cc -O2 -o "$tmp/loop" "$tmp/loop.c"
plain=(); counted=()
for _ in $(seq 7); do
  plain+=("$("$tmp/loop" 20000000)")
  counted+=("$(MEMGATE_MALLOC_FILE="$tmp/loop.count" LD_PRELOAD="$lib" "$tmp/loop" 20000000)")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p=$(med "${plain[@]}"); c=$(med "${counted[@]}")
echo "malloc+free pair (C loop, 20M pairs, median of 7): plain $p ns, counted $c ns (+$(echo "$c - $p" | bc) ns)"

cd "$root/workloads/rust"
cargo build --release --locked --quiet --bin churn --target-dir target/bench-uncounted --features uncounted
cargo build --release --locked --quiet --bin churn --target-dir target/bench-peak
python3 - "$rounds" "$lib" "$tmp" <<'PY'
import os, statistics, subprocess, sys, time
rounds, lib, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
plain = "target/bench-uncounted/release/churn"
probe = "target/bench-peak/release/churn"
def env(extra):
    e = dict(os.environ); e.update(extra); return e
ways = {
    "plain": ([plain], {}),
    "counter": ([plain], {"LD_PRELOAD": lib, "MEMGATE_MALLOC_FILE": f"{tmp}/churn.count"}),
    "counter+sites": ([plain], {"LD_PRELOAD": lib, "MEMGATE_MALLOC_FILE": f"{tmp}/churn.count",
                                "MEMGATE_MALLOC_SITES": f"{tmp}/churn.sites"}),
    "probe": ([probe], {"MEMGATE_PROBE_FILE": f"{tmp}/probe.json"}),
}
times = {k: [] for k in ways}
names = list(ways)
for i in range(rounds):
    r = i % len(names)
    for k in names[r:] + names[:r]:
        argv, extra = ways[k]
        t = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env(extra))
        times[k].append(time.monotonic() - t)
dhat = []
for _ in range(3):
    t = time.monotonic()
    subprocess.run(["valgrind", "--tool=dhat", f"--dhat-out-file={tmp}/dhat.json", plain],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dhat.append(time.monotonic() - t)
base = statistics.median(times["plain"])
def line(k, xs):
    m = statistics.median(xs)
    paired = statistics.median(b - a for a, b in zip(times["plain"], xs)) / base * 100 if len(xs) == rounds else (m / base - 1) * 100
    print(f"  {k:14} {m*1e3:8.1f} ms  {paired:+7.1f}%  ({m/base:.2f}x)")
print(f"churn wall time, median of {rounds} rounds in rotating order (valgrind-dhat: 3 runs):")
for k in names:
    line(k, times[k])
line("valgrind-dhat", dhat)
with open(f"{tmp}/churn.count") as f:
    last = f.read().splitlines()[-1]
counts = dict(kv.split("=", 1) for kv in last.split()[1:])
import json
with open(f"{tmp}/probe.json") as f:
    pm = json.load(f)["metrics"]
print("figures, counter against probe: blocks {} / {:.0f}, bytes {} / {:.0f}, peak {} / {:.0f}".format(
    counts["blocks"], pm["heap.alloc.objects"], counts["bytes"], pm["heap.alloc.bytes"],
    counts["peak"], pm.get("heap.peak.bytes", float("nan"))))
PY

cd "$tmp"
xsv_setup "$root"
cargo build --release --locked --quiet --bin xsv --manifest-path xsv-0.13.0/Cargo.toml 2>xsv-build.log ||
  { tail xsv-build.log; exit 2; }
python3 - "$xsv_rounds" "$lib" "$tmp" <<'PY'
import os, statistics, subprocess, sys, time
rounds, lib, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3]
argv = ["xsv-0.13.0/target/release/xsv", "stats", "--everything", "data.csv"]
count = {"LD_PRELOAD": lib, "MEMGATE_MALLOC_FILE": f"{tmp}/xsv.count"}
ways = {"plain": {}, "counter": count,
        "counter+sites": dict(count, MEMGATE_MALLOC_SITES=f"{tmp}/xsv.sites")}
names = list(ways)
times = {k: [] for k in names}
for i in range(rounds):
    r = i % len(names)
    for k in names[r:] + names[:r]:
        e = dict(os.environ); e.update(ways[k])
        t = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=e)
        times[k].append(time.monotonic() - t)
with open(f"{tmp}/xsv.count") as f:
    last = f.read().splitlines()[-1]
counts = dict(kv.split("=", 1) for kv in last.split()[1:])
blocks = int(counts["blocks"])
base = statistics.median(times["plain"])
print(f"xsv stats --everything over 12 MB ({blocks:,} blocks, {int(counts['bytes']):,} bytes), median of {rounds} rounds in rotating order:")
for k in names:
    m = statistics.median(times[k])
    paired = statistics.median(b - a for a, b in zip(times["plain"], times[k]))
    print(f"  {k:14} {m*1e3:8.1f} ms  {paired / base * 100:+6.1f}%  ({paired / blocks * 1e9:+.1f} ns per allocation)")
PY
