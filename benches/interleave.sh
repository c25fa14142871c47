#!/usr/bin/env bash
# Relative mode's evidence: on the bundled Go workloads, with an
# unchanged head, how far apart do base and head read for process.rss.peak
# and gc.pause.max when (a) the base is a stored baseline measured in an
# earlier run, and (b) the base is measured now, interleaved with the head
# (`check --base-ref HEAD --no-cache`)? Prints the mean absolute change of
# the medians for each; the smaller, the fewer false alarms.
# usage: benches/interleave.sh [REPS]   (from a clean checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-8}
cargo build --release --quiet
bin=$PWD/target/release/memgate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sel=(-w go-churn -w go-retain -w go-bigobj -w go-maps -w go-concurrent -w go-service)
# (a) a stored baseline from an earlier run, then a later run of the same code.
"$bin" run "${sel[@]}" -n "$reps" -o "$tmp/earlier.json" 2>/dev/null
# Something else happens on the machine in between, as it does between CI runs.
cargo build --release --quiet --manifest-path workloads/rust/Cargo.toml --features mimalloc --target-dir "$tmp/between" 2>/dev/null
"$bin" check "${sel[@]}" -n "$reps" --base-ref HEAD --no-cache -o "$tmp/head.json" --verdicts "$tmp/interleaved.json" >/dev/null 2>&1 || true
"$bin" compare "$tmp/earlier.json" "$tmp/head.json" -o "$tmp/stored.json" >/dev/null 2>&1 || true
python3 - "$tmp/stored.json" "$tmp/interleaved.json" <<'PY'
import json, statistics, sys
names = {"stored baseline from an earlier run": sys.argv[1], "interleaved, measured now": sys.argv[2]}
print(f"{'base':<38} {'process.rss.peak':>18} {'gc.pause.max':>14}   (mean |change of the median| over the Go workloads)")
for label, path in names.items():
    v = json.load(open(path))
    row = []
    for metric in ("process.rss.peak", "gc.pause.max"):
        changes = [abs(x["change"]["ratio"] - 1) * 100 for x in v["verdicts"]
                   if x["metric"] == metric and x.get("change") and x["change"].get("ratio") is not None]
        row.append(f"{statistics.mean(changes):.2f}%" if changes else "-")
    print(f"{label:<38} {row[0]:>18} {row[1]:>14}")
PY
