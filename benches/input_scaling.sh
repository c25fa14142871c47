#!/usr/bin/env bash
# How memgate's input handling grows with its input (issue: bad input never
# costs a baseline; these were quadratic or worse): `import --format
# gobench` of N distinct benchmarks, `report --format markdown` of N
# failing verdicts, and a config nested N levels deep (refused past 64
# levels, after one pass over the file). For each, the time
# at N, 2N and 4N and the ratio of the last to the first: about 4 is
# linear, 16 quadratic.
# usage: benches/input_scaling.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc; }
scale() { # scale NAME N MAKE RUN
  local name=$1 n=$2 make=$3 run=$4 t first="" last="" line=""
  for k in 1 2 4; do
    "$make" $((n * k))
    t=$(secs "$run")
    [ -n "$first" ] || first=$t
    last=$t
    line="$line $((n * k)): ${t}s"
  done
  printf '%-28s%s  ratio x4 input: %.1f\n' "$name" "$line" "$(echo "$last / $first" | bc -l)"
}
make_bench() { python3 -c "
import sys
with open('b.txt','w') as f:
    f.write('goos: linux\n')
    for i in range(int(sys.argv[1])):
        f.write(f'BenchmarkB{i}-2  1000  {100+i%7} ns/op  64 B/op  1 allocs/op\n')" "$1"; }
run_import() { "$M" import --format gobench b.txt -o r.json; }
make_verdicts() { python3 -c "
import json, sys
d = json.load(open(sys.argv[2]))
v0 = [v for v in d['verdicts'] if v['status'] == 'regression'][0]
d['verdicts'] = [dict(v0, workload=f'w{i}') for i in range(int(sys.argv[1]))]
json.dump(d, open('v.json', 'w'))" "$1" "$root/fixtures/verdicts/regression.json"; }
run_report() { "$M" report v.json --format markdown -o out.md; }
make_nested() { python3 -c "
import sys
n = int(sys.argv[1])
open('deep.yaml','w').write('version: 1\ntags: ' + '['*n + ']'*n + '\n')" "$1"; }
run_nested() { "$M" run -c deep.yaml -o r.json; }
scale "import gobench, benchmarks" 10000 make_bench run_import
scale "report markdown, failing" 2000 make_verdicts run_report
scale "config nesting depth" 25000 make_nested run_nested
