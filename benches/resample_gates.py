#!/usr/bin/env python3
"""A gate's false-fail rate, resampled from recorded runs of unchanged code.

usage: benches/resample_gates.py MEMGATE GATES FILE... (results files from `memgate run`,
       each a baseline as `run` records it: every phase at least 10 runs)

Each gate takes one recorded file as the baseline, whole, and another as the
current side, cut down to what a check measures (3 footprint runs, chosen at
random, and every other run), then runs `memgate compare` on the pair: the
code is the same on both sides, so a gate that fails (exit 1) is a false
alarm. Prints the rate with its exact (Clopper-Pearson) 95% interval and
the verdicts behind every failure. Only the standard library.
"""

import json
import math
import random
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

CHECK_FOOTPRINT_RUNS = 3


def current_side(results, rng):
    """The recorded results as a check measures them: 3 footprint samples of
    each series, at the same run positions for every metric of a workload."""
    out = json.loads(json.dumps(results))
    for w in out["workloads"]:
        fp_runs = sum(
            1 for r in w["runs"] if not r["warmup"] and r.get("phase") == "footprint"
        )
        if fp_runs <= CHECK_FOOTPRINT_RUNS:
            continue
        keep = sorted(rng.sample(range(fp_runs), CHECK_FOOTPRINT_RUNS))
        for s in w["metrics"].values():
            if s.get("phase") == "footprint" and len(s["samples"]) == fp_runs:
                s["samples"] = [s["samples"][k] for k in keep]
    return out


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p), summed in log space."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    def log_pmf(i):
        return (
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
            + i * math.log(p) + (n - i) * math.log1p(-p)
        )
    return min(1.0, sum(math.exp(log_pmf(i)) for i in range(k + 1)))


def clopper_pearson(k, n, level=0.95):
    """The exact interval: the p whose binomial tails at k are (1-level)/2."""
    a = (1 - level) / 2

    def bisect(decreasing):
        lo, hi = 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if decreasing(mid) > a:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    # P(X >= k) grows with p; P(X <= k) falls with it.
    lower = 0.0 if k == 0 else 1 - bisect(lambda q: 1 - binom_cdf(k - 1, n, 1 - q))
    upper = 1.0 if k == n else bisect(lambda p: binom_cdf(k, n, p))
    return lower, upper


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    memgate, gates, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    recorded = [json.loads(Path(f).read_text()) for f in files]
    rng = random.Random(22)
    fails = 0
    causes = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        base_path, cur_path = Path(tmp, "base.json"), Path(tmp, "cur.json")
        for _ in range(gates):
            i, j = rng.sample(range(len(recorded)), 2)
            base_path.write_text(json.dumps(recorded[i]))
            cur_path.write_text(json.dumps(current_side(recorded[j], rng)))
            out = subprocess.run(
                [memgate, "compare", str(base_path), str(cur_path), "--format", "json"],
                capture_output=True,
                text=True,
                env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
            )
            if out.returncode not in (0, 1):
                sys.exit(f"memgate compare exited {out.returncode}: {out.stderr}")
            if out.returncode == 1:
                fails += 1
                for v in json.loads(out.stdout)["verdicts"]:
                    if v["status"] in ("regression", "over-budget", "missing", "failed"):
                        causes[f"{v['workload']}/{v['metric']} ({v['status']})"] += 1
    lo, hi = clopper_pearson(fails, gates)
    print(
        f"{fails} of {gates} resampled A/A gates failed: {100 * fails / gates:.2f}% "
        f"(95% interval {100 * lo:.2f}-{100 * hi:.2f}%), from {len(files)} recorded runs"
    )
    for what, n in causes.most_common(10):
        print(f"    {n:4d}  {what}")


if __name__ == "__main__":
    main()
