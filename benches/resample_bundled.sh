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
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
trap 'end_neighbours; rm -rf "$tmp"' EXIT
cd "$root" || exit 2
record_runs "$M" "$recorded" "$tmp" "$tmp"
python3 "$root/benches/resample_gates.py" "$M" "$gates" "$tmp"/rec*.json
