# Helpers the bench scripts source (not run on its own).
#
# CPU-bound neighbours, started and ended by PID: `neighbours N` starts N
# (their PIDs in `pids`), `quiet` ends them and checks each gone,
# `end_neighbours` (for an EXIT trap) ends whatever is left.
pids=()
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
end_neighbours() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  pids=()
}

# `xsv_setup ROOT`: in the working directory, xsv 0.13.0 from crates.io
# (BurntSushi's CSV toolkit) in xsv-0.13.0/, its dependencies pinned by the
# lock file of the recorded trial (ROOT/fixtures/rust-trials), and
# data.csv: a generated 12 MB CSV of 200,000 records (seed 7).
xsv_setup() {
  curl -sSfL -o xsv.crate https://static.crates.io/crates/xsv/xsv-0.13.0.crate || exit 2
  tar xzf xsv.crate
  cp "$1/fixtures/rust-trials/xsv-0.13.0.Cargo.lock" xsv-0.13.0/Cargo.lock
  python3 - <<'P'
import random
r = random.Random(7)
cities = ["Berlin", "Paris", "Lyon", "Oslo", "Rome", "Madrid", "Porto", "Vienna", "Prague", "Dublin"]
with open("data.csv", "w") as f:
    f.write("id,city,country,population,lat,lon,name,score\n")
    for i in range(200000):
        f.write(f"{i},{r.choice(cities)},C{r.randint(1, 60)},{r.randint(100, 9000000)},"
                f"{r.uniform(-90, 90):.5f},{r.uniform(-180, 180):.5f},name{r.randint(0, 99999)},{r.gauss(50, 10):.3f}\n")
P
}

# `explain_largest METRIC`: after a check that wrote check.txt, `memgate
# explain` (memgate as $M) on the workload whose METRIC grew the most, its
# first lines.
explain_largest() {
  local w
  # Lines read `regression <workload>/<metric>: +X% ...`.
  w=$(awk -v m="/$1:" '$1 == "regression" && substr($2, length($2) - length(m) + 1) == m {
        g = $3 + 0; if (w == "" || g > best) { best = g; w = substr($2, 1, length($2) - length(m)) } }
      END { print w }' check.txt)
  [ -n "$w" ] || { echo "  no regression of $1 to explain"; return; }
  echo "  memgate explain $w $1:"
  "$M" explain "$w" "$1" 2>&1 | head -8 | cut -c1-150 | sed 's/^/    /'
}

# `record_runs MEMGATE RECORDED OUT_DIR SCRATCH`: RECORDED runs of the
# config in the working directory into OUT_DIR/rec<i>.json, a third quiet, a
# third beside one neighbour, a third beside two. The first by `memgate
# run`; the others by `memgate check --save-baseline` against a scratch copy
# of it, which measures as a baseline is measured (10 runs in the phase of
# the memory figures) at the first one's benchmark counts. One line each:
# workloads, seconds and exit code (1 is a failed A/A gate).
record_runs() {
  local M=$1 recorded=$2 out=$3 scratch=$4 i load rc start end n
  for i in $(seq "$recorded"); do
    load=$(( (i - 1) * 3 / recorded ))
    neighbours "$load"
    start=$(date +%s.%N)
    if [ "$i" -eq 1 ]; then
      "$M" run -o "$out/rec$i.json" 2>"$scratch/rec$i.log"
    else
      cp "$out/rec1.json" "$scratch/scratch.json"
      "$M" check --baseline "$scratch/scratch.json" --save-baseline -o "$out/rec$i.json" \
        --verdicts "$scratch/v.json" >/dev/null 2>"$scratch/rec$i.log"
    fi
    rc=$?
    end=$(date +%s.%N)
    quiet
    [ "$rc" -le 1 ] || { tail "$scratch/rec$i.log"; exit 2; }
    n=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['workloads']))" "$out/rec$i.json")
    printf 'recorded run %d, %d neighbour(s): %d workloads in %.0f s (exit %d)\n' \
      "$i" "$load" "$n" "$(echo "$end - $start" | bc)" "$rc"
  done
}
