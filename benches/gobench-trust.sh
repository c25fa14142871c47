#!/usr/bin/env bash
# A public Go module's own benchmarks gated as a new user would, with the
# code unchanged, then with one injected allocation:
#   1. the module at a pinned version from the Go module proxy, copied out
#      of the module cache; `memgate init` writes its config;
#   2. RECORDED runs of the whole module (a third quiet, a third beside one
#      CPU-bound neighbour, a third beside two; this script starts and ends
#      them by PID): the first by `memgate run`, and it becomes the baseline
#      (`memgate baseline save`); the others by `memgate check
#      --save-baseline` against a scratch copy of it, which measures as a
#      baseline is measured (10 footprint runs) at the baseline's counts;
#   3. CHECKS A/A `memgate check`s at each load (0, 1 and 2 neighbours);
#   4. one `memgate check` with 8 bytes kept alive per call of FUNC (a line
#      `var memgateKeep [][]byte` added to FILE, and an append of
#      make([]byte, 8) as the first statement of the function whose
#      opening line matches the regexp FUNC), which lists the benchmarks
#      that failed and through which metrics;
#   5. GATES resampled A/A gates from the recorded runs
#      (benches/resample_gates.py), with the false-fail rate's 95% interval.
# The recorded runs stay in $MEMGATE_TRUST_OUT when it names a directory.
# Prints one line per check, the wall time of each, and a summary.
# usage: benches/gobench-trust.sh MODULE@VERSION FILE FUNC [RECORDED=6] [CHECKS=3] [GATES=1500]
# e.g.:  benches/gobench-trust.sh github.com/google/btree@v1.1.3 btree_generic.go \
#          '^func \(t \*BTreeG\[T\]\) ReplaceOrInsert\('
set -u
[ $# -ge 3 ] || { sed -n '2,20p' "$0"; exit 2; }
module=$1 file=$2 func=$3 recorded=${4:-6} checks=${5:-3} gates=${6:-1500}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
tmp=$(mktemp -d)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
trap 'end_neighbours; rm -rf "$tmp"' EXIT
out_dir=${MEMGATE_TRUST_OUT:-$tmp}
mkdir -p "$out_dir" || exit 2

src=$(cd "$tmp" && go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "cannot download $module"; exit 2; }
work=$tmp/module
cp -r "$src" "$work" && chmod -R u+w "$work"
cd "$work" || exit 2
grep -qE "$func" "$file" || { echo "no line of $file matches $func"; exit 2; }
"$M" init >/dev/null 2>&1 || { echo "memgate init failed"; exit 2; }
echo "== $module: $(grep -E 'gobench:' memgate.yaml | sed 's/^ *//')"

record_runs "$M" "$recorded" "$out_dir" "$tmp"
"$M" baseline save "$out_dir/rec1.json" 2>&1 | sed 's/^/  /' | cut -c1-200

failed=0 total=0
for load in 0 1 2; do
  for i in $(seq "$checks"); do
    neighbours "$load"
    start=$(date +%s.%N)
    out=$(NO_COLOR=1 "$M" check -o "$tmp/cur.json" --verdicts "$tmp/v.json" 2>/dev/null); rc=$?
    end=$(date +%s.%N)
    quiet
    total=$((total + 1)); [ "$rc" -ne 0 ] && failed=$((failed + 1))
    printf 'A/A check, %d neighbour(s), #%d: exit %d in %.0f s: %s\n' "$load" "$i" "$rc" \
      "$(echo "$end - $start" | bc)" "$(echo "$out" | tail -1)"
    echo "$out" | grep -E '^(regression|missing|failed|over-budget) ' | cut -c1-220 | sed 's/^/    /'
  done
done
echo "A/A: $failed of $total checks failed"

cp "$file" "$tmp/original.go"
printf '\nvar memgateKeep [][]byte\n' >> "$file"
perl -0pi -e "s/($func[^\n]*\{\n)/\$1\tmemgateKeep = append(memgateKeep, make([]byte, 8))\n/m" "$file"
grep -q 'memgateKeep = append' "$file" || { echo "could not inject into $file"; exit 2; }
out=$(NO_COLOR=1 "$M" check -o "$tmp/cur.json" --verdicts "$tmp/v.json" 2>/dev/null); rc=$?
cp "$tmp/original.go" "$file"
echo "injected 8 B kept per call of $func: exit $rc: $(echo "$out" | tail -1)"
python3 - "$tmp/v.json" <<'EOF'
import json, sys
from collections import defaultdict
failed = defaultdict(list)
for v in json.load(open(sys.argv[1]))["verdicts"]:
    if v["status"] in ("regression", "over-budget"):
        failed[v["workload"]].append(f"{v['metric']} {v['baseline']['median']:g} -> {v['current']['median']:g}")
for w, ms in sorted(failed.items()):
    print(f"    {w}: {'; '.join(ms)}")
print(f"    {len(failed)} benchmarks failed")
EOF

python3 "$root/benches/resample_gates.py" "$M" "$gates" "$out_dir"/rec*.json
