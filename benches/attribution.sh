#!/usr/bin/env bash
# What attribution costs:
#   1. the extra wall time of a Go footprint run with its heap profile on
#      (the probe at runtime.MemProfileRate 16384), on retain and churn,
#      ROUNDS interleaved runs each, medians;
#   2. reading and comparing a ~10 MB heap profile: a generated Go program
#      with 2^19 distinct allocation stacks, profiled at rate 1, written
#      uncompressed; `memgate import --memprofile` reads it (time, peak RSS
#      against the file's size), and `memgate compare` of two such imports
#      diffs the sites (time).
# usage: benches/attribution.sh [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-10}
cargo build --release --locked --quiet --manifest-path "$root/Cargo.toml"
memgate=$root/target/release/memgate
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root/workloads/go" && go build -o "$tmp/retain" ./cmd/retain && go build -o "$tmp/churn" ./cmd/churn)

python3 - "$tmp" "$rounds" <<'PY'
import os, statistics, subprocess, sys, time
tmp, rounds = sys.argv[1], int(sys.argv[2])
base = dict(os.environ, GOMAXPROCS="1", GODEBUG="gcstoptheworld=1", GOGC="100",
            MEMGATE_PROBE_FILE=f"{tmp}/probe.json")
prof = dict(base, MEMGATE_HEAP_PROFILE=f"{tmp}/heap.pb.gz", MEMGATE_MEMPROFILE_RATE="16384")
for w in ("retain", "churn"):
    t = {"off": [], "on": []}
    for i in range(rounds):
        for which, env in (("off", base), ("on", prof)) if i % 2 == 0 else (("on", prof), ("off", base)):
            s = time.monotonic()
            subprocess.run([f"{tmp}/{w}"], env=env, check=True)
            t[which].append(time.monotonic() - s)
    off, on = statistics.median(t["off"]), statistics.median(t["on"])
    print(f"go-{w} footprint run: {off*1e3:.0f} ms without the heap profile, {on*1e3:.0f} ms with it ({(on/off-1)*100:+.0f}%)")
PY

# A program with 2^19 distinct stacks: each allocation's path through
# left/right calls spells the bits of its index.
mkdir -p "$tmp/big"
cat > "$tmp/big/main.go" <<'GO'
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

var sink [][]byte

//go:noinline
func left(i, depth int) { step(i, depth) }

//go:noinline
func right(i, depth int) { step(i, depth) }

func step(i, depth int) {
	if depth == 0 {
		sink = append(sink, make([]byte, 64+i%512))
		return
	}
	if i>>depth&1 == 1 {
		right(i, depth-1)
	} else {
		left(i, depth-1)
	}
}

func main() {
	runtime.MemProfileRate = 1
	for i := 0; i < 1<<19; i++ {
		step(i, 19)
	}
	runtime.GC()
	f, _ := os.Create(os.Args[1])
	pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
}
GO
(cd "$tmp/big" && go mod init big >/dev/null 2>&1 && GOFLAGS=-buildvcs=false go build -o big .)
"$tmp/big/big" "$tmp/big.pb.gz"
gunzip -c "$tmp/big.pb.gz" > "$tmp/big.pb"
size=$(stat -c %s "$tmp/big.pb")
printf 'BenchmarkBig 1 100 ns/op 64 B/op 1 allocs/op\n' > "$tmp/bench.txt"
cd "$tmp/big"
/usr/bin/time -f '%e %M' -o "$tmp/import.time" "$memgate" import --format gobench "$tmp/bench.txt" --memprofile "$tmp/big.pb" -o "$tmp/a.json" 2>/dev/null
read -r secs kib < <(tail -n 1 "$tmp/import.time")
echo "a $((size / 1024 / 1024)) MB heap profile ($(stat -c %s "$tmp/big.pb.gz") bytes gzipped, 2^19 stacks): read and folded in ${secs} s, peak RSS $((kib / 1024)) MiB ($(python3 -c "print(f'{$kib*1024/$size:.2f}')")x the file; targets: 1 s, 4x)"
# A second import whose profile grew one site: the diff of the two.
python3 - "$tmp/a.json" "$tmp/b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for w in r["workloads"]:
    w["sites"]["sites"][0]["alloc_bytes"] *= 1.5
    for s in w["metrics"].values():
        s["samples"] = [x * 2 for x in s["samples"]]
json.dump(r, open(sys.argv[2], "w"))
PY
/usr/bin/time -f "%e %M" -o "$tmp/compare.time" "$memgate" compare "$tmp/a.json" "$tmp/b.json" --format json -o "$tmp/v.json" >/dev/null 2>"$tmp/compare.err" || true
grep -q "attribution" "$tmp/v.json" || { echo "compare made no attribution:"; cat "$tmp/compare.err"; exit 1; }
read -r secs kib < <(tail -n 1 "$tmp/compare.time")
echo "comparing the two (sites diffed for each failing metric): ${secs} s, peak RSS $((kib / 1024)) MiB"
