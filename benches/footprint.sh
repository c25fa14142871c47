#!/usr/bin/env bash
# Evidence for the footprint phase and the load-sensitive policy, on the
# whole bundled suite (memgate.yaml as committed):
#   1. a quiet baseline of every workload;
#   2. A/A checks against it, the current side run beside one and then two
#      CPU-bound neighbours that this script starts and ends by PID;
#   3. go-retain with -scale 1.03 (+3% live heap), 3 footprint runs a side,
#      quiet and beside one neighbour, against the same baseline;
#   4. the wall time of a warm `memgate check` of the suite (both phases).
# Prints one line per check and a summary.
# usage: benches/footprint.sh [A/A checks per load level, default 5] [scaled checks per load level, default 5]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
aa=${1:-5}
scaled=${2:-5}
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

cd "$root" || exit 2
# The suite with go-retain scaled: the config with absolute dirs, in tmp.
sed -e "s#dir: workloads/#dir: $root/workloads/#" \
    -e 's#run: ./bin/retain$#run: ./bin/retain -scale 1.03#' \
    -e "s#^baseline: .*#baseline: $tmp/base.json#" memgate.yaml > "$tmp/scaled.yaml"
grep -q -- '-scale 1.03' "$tmp/scaled.yaml" || { echo "could not scale go-retain"; exit 2; }

"$M" run -o "$tmp/base.json" 2>"$tmp/base.log" || { tail "$tmp/base.log"; exit 2; }
echo "baseline: $(grep -c '"name"' "$tmp/base.json") workloads, quiet"

failed=0 total=0
for load in 1 2; do
  for i in $(seq "$aa"); do
    neighbours "$load"
    "$M" run -o "$tmp/a.json" 2>/dev/null
    quiet
    out=$("$M" compare "$tmp/base.json" "$tmp/a.json" 2>&1); rc=$?
    total=$((total + 1)); [ "$rc" -ne 0 ] && failed=$((failed + 1))
    echo "A/A, $load neighbour(s), #$i: exit $rc: $(echo "$out" | tail -1)"
    echo "$out" | grep -E '^(regression|missing|warning) ' | cut -c1-200 | sed 's/^/    /'
  done
done
echo "A/A: $failed of $total loaded checks failed"

caught=0 tries=0
for load in 0 1; do
  for i in $(seq "$scaled"); do
    neighbours "$load"
    out=$("$M" check -c "$tmp/scaled.yaml" -w go-retain -o "$tmp/s.json" --verdicts "$tmp/sv.json" 2>&1); rc=$?
    quiet
    line=$(echo "$out" | grep -E '^regression go-retain/heap.live.bytes' | cut -c1-160)
    tries=$((tries + 1)); [ "$rc" -eq 1 ] && [ -n "$line" ] && caught=$((caught + 1))
    echo "+3% go-retain, $load neighbour(s), #$i: exit $rc: ${line:-$(echo "$out" | tail -1)}"
  done
done
echo "+3% live heap on go-retain: caught $caught of $tries"

start=$(date +%s%N)
"$M" check --baseline "$tmp/base.json" -o "$tmp/w.json" --verdicts "$tmp/wv.json" >/dev/null 2>&1
echo "warm check of the suite, both phases: $(( ($(date +%s%N) - start) / 1000000 )) ms"
