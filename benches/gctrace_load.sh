#!/usr/bin/env bash
# How far the load on the machine moves the heap figures of a concurrent Go
# collector, as `memgate import --format gctrace` reads them: the bound on
# what load may explain of a paced memory figure (README, "How the gate
# decides"). For each bundled Go command: RUNS runs quiet, RUNS beside two
# CPU-bound neighbours (started and ended by PID, checked gone), then RUNS
# quiet again; GOGC=100 GOMAXPROCS=2 GODEBUG=gctrace=1. Prints, per
# command and heap figure, the quiet median and the loaded median's change
# from it, the largest change of any run from the quiet median, and the
# loaded side's smallest run over the quiet side's largest: what load
# explains of a paced figure in the gate (judge.rs, LOAD_MULTIPLE) is a
# ratio like it.
# usage: benches/gctrace_load.sh [RUNS, default 6]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-6}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
tmp=$(mktemp -d)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
cleanup() {
  end_neighbours
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$root/workloads/go" || exit 2
for cmd in churn retain bigobj maps; do
  go build -o "$tmp/$cmd" "./cmd/$cmd" || exit 2
done
record() { # record CMD LABEL
  local i
  for i in $(seq "$runs"); do
    GOGC=100 GOMAXPROCS=2 GODEBUG=gctrace=1 "$tmp/$1" >/dev/null 2>"$tmp/$1.$2.$i.txt" || exit 2
  done
  "$M" import --format gctrace --name "$1" -o "$tmp/$1.$2.json" "$tmp/$1.$2".*.txt 2>/dev/null || exit 2
}
for cmd in churn retain bigobj maps; do
  record "$cmd" quiet1
  neighbours 2
  record "$cmd" loaded
  quiet
  record "$cmd" quiet2
done
python3 - "$tmp" churn retain bigobj maps <<'PY'
import json, statistics, sys
tmp, cmds = sys.argv[1], sys.argv[2:]
def samples(cmd, label, metric):
    doc = json.load(open(f"{tmp}/{cmd}.{label}.json"))
    s = doc["workloads"][0]["metrics"].get(metric)
    return [float(v) for v in s["samples"]] if s else []
worst = 0.0
ratio = 0.0
print(f"{'command':8} {'metric':16} {'quiet median':>13} {'loaded':>8} {'quiet again':>11} {'largest run':>11} {'min loaded/max quiet':>20}")
for cmd in cmds:
    for metric in ("heap.live.bytes", "heap.goal.bytes", "heap.peak.bytes", "gc.cycles"):
        q = samples(cmd, "quiet1", metric) + samples(cmd, "quiet2", metric)
        l = samples(cmd, "loaded", metric)
        if not q or not l or statistics.median(q) == 0:
            continue
        mq = statistics.median(q)
        ch = lambda xs: (statistics.median(xs) / mq - 1) * 100
        far = max(abs(x / mq - 1) * 100 for x in q + l)
        r = min(l) / max(q)
        if metric != "gc.cycles":
            worst = max(worst, far)
            ratio = max(ratio, r)
        print(f"{cmd:8} {metric:16} {mq/2**20:10.1f} MiB {ch(l):+7.1f}% {ch(samples(cmd,'quiet2',metric)):+10.1f}% {far:10.1f}% {r:20.2f}"
              if metric != "gc.cycles" else
              f"{cmd:8} {metric:16} {mq:14.0f} {ch(l):+7.1f}% {ch(samples(cmd,'quiet2',metric)):+10.1f}% {far:10.1f}% {r:20.2f}")
print(f"largest heap figure of any run, from its quiet median: {worst:.1f}%")
print(f"largest ratio of the loaded side's smallest run to the quiet side's largest: {ratio:.2f}")
PY
