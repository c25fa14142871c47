#!/usr/bin/env bash
# A public Rust library's own tests gated as a new user would, with no code
# change: semver 1.0.23 from crates.io (dtolnay's; no dependencies),
# `memgate init` (a `cargotest` workload: each test alone under the malloc
# counter), run, baseline save; then checks: A/A quiet, A/A beside a
# CPU-bound neighbour (ended by PID), and one more allocation per number
# parsed in `parse::numeric_identifier`, with `memgate explain` on the
# first test it regressed. Prints each check's exit code and regressions.
# usage: benches/rust_tests_trial.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/benches/lib.sh"
trap end_neighbours EXIT
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
M=$root/target/release/memgate
tmp=$(mktemp -d)
cd "$tmp" || exit 2
curl -sSfL -o semver.crate https://static.crates.io/crates/semver/semver-1.0.23.crate || exit 2
tar xzf semver.crate
cd semver-1.0.23 || exit 2
"$M" init >/dev/null 2>&1
grep -q "cargotest: {}" memgate.yaml || { echo "init did not write a cargotest workload"; exit 2; }
"$M" run >/dev/null 2>run.log || { tail run.log; exit 2; }
grep "tests, each run alone" run.log
"$M" baseline save .memgate/results.json >/dev/null 2>&1
check() {
  local what=$1 rc=0
  "$M" check >check.txt 2>check.log || rc=$?
  echo "$what: exit $rc; $(tail -1 check.txt)"
  grep -E "^regression " check.txt | cut -c1-140 | sed 's/^/  /' || true
}
check "A/A quiet"
neighbours 1
check "A/A beside a CPU-bound neighbour"
quiet
cp src/parse.rs parse.rs.orig
python3 - <<'P'
p = "src/parse.rs"; s = open(p).read()
s = s.replace("""fn numeric_identifier(input: &str, pos: Position) -> Result<(u64, &str), Error> {
""", """fn numeric_identifier(input: &str, pos: Position) -> Result<(u64, &str), Error> {
    core::hint::black_box(alloc::string::String::from(input));
""", 1)
open(p, "w").write(s)
P
check "one more allocation per number parsed"
explain_largest heap.alloc.objects
cp parse.rs.orig src/parse.rs
check "A/A again, the source restored"
rm -rf "$tmp"
