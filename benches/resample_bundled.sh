#!/usr/bin/env bash
# The bundled suite's false-fail rate per gate, resampled: RECORDED runs of
# memgate.yaml as committed (a third quiet, a third beside one CPU-bound
# neighbour, a third beside two; this script starts and ends them by PID
# and checks them gone), the first by `memgate run`, the others by `memgate
# check --save-baseline` against a scratch copy of it (measured as a
# baseline is: 10 footprint runs); then GATES A/A gates resampled from them
# (benches/resample_gates.py), with the rate's exact 95% interval.
# usage: benches/resample_bundled.sh [RECORDED=6] [GATES=1500]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
recorded=${1:-6} gates=${2:-1500}
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
neighbours() {
  pids=()
  for _ in $(seq "$1"); do
    sh -c 'while :; do :; done' &
    pids+=($!)
  done
}
quiet() {
  for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    ! kill -0 "$p" 2>/dev/null || { echo "neighbour $p outlived its kill"; exit 2; }
  done
  pids=()
}
cd "$root" || exit 2
for i in $(seq "$recorded"); do
  load=$(( (i - 1) * 3 / recorded ))
  neighbours "$load"
  if [ "$i" -eq 1 ]; then
    "$M" run -o "$tmp/rec$i.json" 2>"$tmp/log"
  else
    cp "$tmp/rec1.json" "$tmp/scratch.json"
    "$M" check --baseline "$tmp/scratch.json" --save-baseline -o "$tmp/rec$i.json" \
      --verdicts "$tmp/v.json" >/dev/null 2>"$tmp/log"
  fi
  rc=$?
  quiet
  [ "$rc" -le 1 ] || { tail "$tmp/log"; exit 2; }
  echo "recorded run $i, $load neighbour(s) (exit $rc)"
done
python3 "$root/benches/resample_gates.py" "$M" "$gates" "$tmp"/rec*.json
