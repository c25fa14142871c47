#!/usr/bin/env bash
# Whether a short run's peak RSS depends on how memgate was built (issue:
# bad input never costs a baseline, "the launcher's memory leaks into the
# workload's peak"). Builds memgate as debug and as release, runs tiny
# programs 20 times under each, and prints each build's lowest, median and
# highest peak, and its launcher's own resident memory for scale. Forked
# from the exec stub, the two builds read the same figures.
# usage: benches/short_run_rss.sh
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --quiet --manifest-path "$root/Cargo.toml" || exit 2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/m.yaml" <<'Y'
version: 1
defaults: { repetitions: 20, warmup: 0 }
workloads:
  - { name: "true", lang: other, run: ["true"] }
  - { name: "sh -c true", lang: other, run: ["sh", "-c", "true"] }
  - { name: "python3 -c pass", lang: other, run: ["python3", "-S", "-c", "pass"] }
Y
printf '%-8s %-16s %10s %10s %10s\n' build program "min KiB" "median KiB" "max KiB"
for build in debug release; do
  "$root/target/$build/memgate" run -c "$tmp/m.yaml" -o "$tmp/$build.json" 2>/dev/null || exit 2
  python3 - "$tmp/$build.json" "$build" <<'P'
import json, statistics, sys
r = json.load(open(sys.argv[1]))
for w in r["workloads"]:
    s = [v / 1024 for v in w["metrics"]["process.rss.peak"]["samples"]]
    print(f"{sys.argv[2]:<8} {w['name']:<16} {min(s):>10.0f} {statistics.median(s):>10.0f} {max(s):>10.0f}")
P
done
for build in debug release; do
  kib=$(python3 - "$root/target/$build/memgate" <<'P'
import os, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "__launch", "--report", os.devnull, "--timeout-us", "5000000",
    "--grace-us", "1000000", "--interval-us", "0", "--parent", str(os.getpid()), "--", "sleep", "0.3"])
time.sleep(0.15)
print(next(l.split()[1] for l in open(f"/proc/{p.pid}/status") if l.startswith("VmHWM")))
p.wait()
P
)
  echo "$build launcher's own peak: $kib KiB"
done
