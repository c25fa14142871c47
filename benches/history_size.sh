#!/usr/bin/env bash
# The history's size: records N commits of the bundled baseline (a real run
# of 17 workloads, 295 metrics; each commit's figures moved a little so no
# two are equal) with `memgate history add`, then prints, from SQLite's own
# page accounting (the dbstat table, through Python's sqlite3 module), the
# bytes per metric per commit of the summaries and of the kept samples
# (only the last 100 records keep theirs), the file size, and a year of the
# suite at 20 commits a day: the summaries grow linearly, the samples stay
# as they are; and how long one `history add` takes.
# usage: benches/history_size.sh [COMMITS]
set -eu
n=${1:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
M=$root/target/release/memgate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
start=$(date +%s%N)
for i in $(seq 1 "$n"); do
  python3 - "$root/.memgate/baseline.json" "$i" > r.json <<'P'
import json, sys
r = json.load(open(sys.argv[1])); i = int(sys.argv[2])
for e in r["environments"]:
    e["git"]["commit"] = f"{i:040x}"
for w in r["workloads"]:
    for m in w["metrics"].values():
        m["samples"] = [s * (1 + 1e-4 * i) if isinstance(s, float) else s + i for s in m["samples"]]
print(json.dumps(r))
P
  "$M" history add r.json --history h.db 2>/dev/null
done
end=$(date +%s%N)
python3 - h.db "$n" "$(( (end - start) / n / 1000000 ))" <<'P'
import os, sqlite3, sys
db, n, ms = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = sqlite3.connect(db)
metrics = c.execute("select count(*) from summaries").fetchone()[0]
size = lambda t: c.execute("select sum(pgsize) from dbstat where name = ?", (t,)).fetchone()[0] or 0
summ, samp = size("summaries"), size("samples")
total = os.path.getsize(db)
print(f"{n} commits x {metrics // n} metrics: file {total / 1e6:.2f} MB")
print(f"summaries: {summ / metrics:.1f} bytes per metric per commit (pages included)")
print(f"samples:   {samp / metrics:.1f} bytes per metric per commit ({c.execute('select count(*) from samples').fetchone()[0] / metrics:.0%} of metrics kept theirs)")
print(f"a year at 20 commits a day (7,300 commits): {(summ / n * 7300 + samp) / 1e6:.0f} MB: {summ / n * 7300 / 1e6:.0f} MB of summaries, {samp / 1e6:.1f} MB of samples")
print(f"one history add (process start, read, 295 rows, commit, python's file generation included): {ms} ms")
P
