#!/usr/bin/env bash
# Drift on real noise: per-commit results built from the bundled suite's
# recorded runs (.memgate/baseline.json: each commit draws each metric's
# runs, with replacement, from the recorded ones, so its noise is theirs).
#   1. The slow boil: 44 commits, go-retain's heap.live.bytes +3% every 4
#      commits (10 steps). Each commit is checked as a pull request would
#      be (`compare` of the previous commit's results and its own, the
#      history of the commits before it, `drift: {heap.live.bytes: {since:
#      44 commits, max_increase: 10%}}`): prints the first that fails on
#      drift (+3% x 4 = +12.6% is the first past 10%), and how many of the
#      10 steps `history drift` marks within one commit.
#   2. A/A: 1,000 commits of the same noise, nothing injected: the change
#      points `history drift --window 500` finds in all 295 series of the
#      last 500 commits; the time of the 1,000th `history add` and of
#      `history drift --window 1000`; the store's size.
# usage: benches/drift_trial.sh [AA_COMMITS]
set -eu
aa=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
M=$root/target/release/memgate
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
gen() { # gen SEED FACTOR OUT: one commit's results
  python3 - "$root/.memgate/baseline.json" "$1" "$2" "$3" <<'P'
import json, random, sys
r = json.load(open(sys.argv[1])); seed = int(sys.argv[2]); factor = float(sys.argv[3])
rng = random.Random(seed)
for e in r["environments"]:
    e["git"]["commit"] = f"{seed:08x}" * 5
r["created_at"] = f"2026-01-01T00:00:00Z"
for w in r["workloads"]:
    for name, m in w["metrics"].items():
        pool = m["samples"]
        draw = [rng.choice(pool) for _ in pool]
        if w["name"] == "go-retain" and name == "heap.live.bytes":
            draw = [round(x * factor) for x in draw]
        m["samples"] = draw
json.dump(r, open(sys.argv[4], "w"))
P
}

# 1. The slow boil.
mkdir boil && cd boil
printf 'version: 1\nhistory: h.db\ndrift:\n  heap.live.bytes: {since: 44 commits, max_increase: 10%%}\nworkloads: []\n' > memgate.yaml
first=""
for c in $(seq 0 43); do
  gen $((c + 1)) "$(python3 -c "print(1.03 ** ($c // 4))")" "c$c.json"
  if [ "$c" -gt 0 ]; then
    "$M" compare "c$((c - 1)).json" "c$c.json" --format json > v.json 2>/dev/null || true
    over=$(python3 -c "import json; v = json.load(open('v.json')); print(any(x['workload'] == 'go-retain' and x['metric'] == 'heap.live.bytes' and x['status'] == 'over-budget' for x in v['verdicts']))")
    if [ "$over" = True ] && [ -z "$first" ]; then first=$c; fi
  fi
  "$M" history add "c$c.json" --history h.db 2>/dev/null
done
echo "slow boil: the first commit failing on drift is $first (+3% x $(( first / 4 )) = $(python3 -c "print(f'{1.03 ** ($first // 4) * 100 - 100:+.1f}%')") since the anchor; expected 16, the first past +10%)"
"$M" history drift -w go-retain -m heap.live.bytes --history h.db 2>/dev/null > drift.txt || true
python3 - drift.txt <<'P'
import re, sys
found = [int(m.group(1)[:8], 16) - 1 for m in re.finditer(r"and ([0-9a-f]{12})", open(sys.argv[1]).read())]
steps = [4 * k for k in range(1, 11)]
hit = sum(any(abs(f - s) <= 1 for f in found) for s in steps)
print(f"slow boil: history drift marks {hit} of the 10 steps within one commit ({len(found)} change points: commits {found})")
P
cd ..

# 2. A/A noise: every commit's results written by one Python process, then
# recorded by one `history add` of them all (oldest first).
mkdir aa && cd aa
python3 - "$root/.memgate/baseline.json" "$aa" <<'P'
import copy, json, random, sys
base = json.load(open(sys.argv[1]))
for c in range(1, int(sys.argv[2]) + 1):
    r = copy.deepcopy(base); rng = random.Random(100000 + c)
    for e in r["environments"]:
        e["git"]["commit"] = f"{100000 + c:08x}" * 5
    for w in r["workloads"]:
        for m in w["metrics"].values():
            m["samples"] = [rng.choice(m["samples"]) for _ in m["samples"]]
    json.dump(r, open(f"r{c:05d}.json", "w"))
P
last=$(ls r*.json | tail -1)
ls r*.json | head -n -1 | xargs "$M" history add --history h.db 2>/dev/null
s=$(date +%s%N); "$M" history add "$last" --history h.db 2>/dev/null; e=$(date +%s%N)
echo "A/A: the ${aa}th history add: $(( (e - s) / 1000000 )) ms"
s=$(date +%s%N); "$M" history drift --window "$aa" --history h.db > all.txt 2>/dev/null; e=$(date +%s%N)
echo "A/A: history drift over $aa commits x 295 metrics: $(( (e - s) / 1000000 )) ms, $(wc -l < all.txt) change points"
"$M" history drift --window 500 --history h.db > last500.txt 2>/dev/null
echo "A/A: history drift over the last 500 commits: $(wc -l < last500.txt) false change points in all 295 series (target: at most 1)"
head -5 last500.txt
echo "store: $(stat -c %s h.db) bytes for $aa commits"
