#!/usr/bin/env bash
# The verdict rules against real workloads: A/A (scale 1.0, three times) and
# the changes they exist to catch (scale 1.10 and 1.50), at 3 runs and at 1
# run a side, the current side measured beside a CPU-bound neighbour
# started and ended by its PID; the baseline is measured without it.
# Go runs in both phases (footprint: one P, stop-the-world GC). Prints one
# line per comparison and its regressions.
# usage: benches/verdict_rules.sh   (from anywhere)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
cargo build --release --locked --quiet --manifest-path "$root/workloads/rust/Cargo.toml" --bin churn
(cd "$root/workloads/go" && go build -o bin/ ./cmd/...)
M=$root/target/release/memgate
GO=$root/workloads/go/bin/churn
RS=$root/workloads/rust/target/release/churn
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; cd "$tmp"
cfg() { # reps scale
cat > memgate.yaml <<YAML
version: 1
defaults: {repetitions: $1, warmup: 1, sample_interval: 0}
workloads:
  - {name: go-churn, lang: go, run: [$GO, -scale, '$2'], collect: [gctrace, probe], env: {GOGC: 100}}
  - {name: rust-churn, lang: rust, run: [$RS, -scale, '$2'], collect: [probe]}
YAML
}
for reps in 3 1; do
  cfg "$reps" 1.0; "$M" run -o "base$reps.json" 2>/dev/null
  for scale in 1.0 1.0 1.0 1.10 1.50; do
    cfg "$reps" "$scale"
    sh -c 'while :; do :; done' & P=$!
    "$M" run -o cur.json 2>/dev/null
    kill "$P"; wait "$P" 2>/dev/null
    out=$("$M" compare "base$reps.json" cur.json 2>&1); rc=$?
    echo "reps=$reps scale=$scale exit=$rc: $(echo "$out" | tail -1)"
    echo "$out" | grep -E '^(regression|improvement) ' | cut -c1-160
  done
done
