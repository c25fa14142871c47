#!/usr/bin/env bash
# memgate against benchstat, end to end, on the same two `go test -bench`
# files: 1,000 benchmarks x 30 samples each (ns/op, B/op, allocs/op), 50 of
# them 10% slower and larger in the second. Times `benchstat A B` and
# `memgate compare A B -o verdicts.json` (which reads the text itself, no
# import step) interleaved, 7 rounds, and prints the medians and their
# ratio; then memgate's import speed (MB/s over the text) and what writing
# the verdicts file adds (compare with -o against without).
# usage: benches/vs_benchstat.sh [ROUNDS]
set -u
rounds=${1:-7}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
B=$(command -v benchstat || echo "$(go env GOPATH)/bin/benchstat")
[ -x "$B" ] || { echo "benchstat is missing: bash tests/run installs it"; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 2
python3 - <<'P'
import random
def write(path, seed, slower):
    r = random.Random(seed)
    with open(path, "w") as f:
        f.write("goos: linux\ngoarch: amd64\npkg: example.com/bench\ncpu: AMD EPYC 7B13\n")
        for b in range(1000):
            k = 1.10 if b in slower else 1.0
            ns, by, al = 1000 + 37 * b, 64 * (1 + b % 50), 1 + b % 9
            for _ in range(30):
                f.write(f"BenchmarkOp{b:04d}-2 \t 1000000\t {ns * k * r.gauss(1, 0.01):.1f} ns/op\t {round(by * k)} B/op\t {al} allocs/op\n")
        f.write("PASS\nok  \texample.com/bench\t31.234s\n")
write("a.txt", 1, set())
write("b.txt", 2, set(range(0, 1000, 20)))
P
secs() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N); echo $(((e - s) / 1000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >bs; : >mg; : >mg_noout; : >imp
for _ in $(seq "$rounds"); do
  secs "$B" a.txt b.txt >>bs
  secs "$M" compare a.txt b.txt -o v.json >>mg
  secs "$M" compare a.txt b.txt >>mg_noout
  secs "$M" import --format gobench a.txt -o ra.json >>imp
done
"$M" compare a.txt b.txt -o v.json >/dev/null 2>&1
echo "exit status of memgate compare: $? (1: the 50 regressions fail the gate)"
bs=$(median <bs); mg=$(median <mg); mgn=$(median <mg_noout); imp=$(median <imp)
bytes=$(stat -c %s a.txt)
echo "input: 2 files of $bytes bytes, 1,000 benchmarks x 30 samples x 3 units"
echo "benchstat A B:                 $((bs / 1000)) ms (median of $rounds)"
echo "memgate compare A B -o v.json: $((mg / 1000)) ms"
awk -v b="$bs" -v m="$mg" 'BEGIN {printf "benchstat time / memgate time: %.2f (above 1: memgate is faster)\n", b / m}'
echo "writing verdicts.json adds:    $(((mg - mgn) / 1000)) ms ($(stat -c %s v.json) bytes)"
awk -v t="$imp" -v s="$bytes" 'BEGIN {printf "memgate import --format gobench: %d ms, %.0f MB/s\n", t / 1000, s / t}'
