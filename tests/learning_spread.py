#!/usr/bin/env python
"""Measure the spread that `test_learning.py` takes its bars from, and write it to
`tests/learning_spread.json`:

    python tests/learning_spread.py [--seeds 0 1 2 3 4] [--threads 1 2] [--methods CTL GRL]
    python tests/learning_spread.py --summary     # the table of the file as it is

Every method trains under the test's budget once per training seed and thread count
(each run in its own process, with OMP_NUM_THREADS set), and once per control seed
with SOLVER.BASE_LR 0: the same model, data and batches, but no weight ever changes
(BatchNorm statistics still follow the data), which is what a method that does not
learn scores. Runs at one thread go two at a time, so a machine's two cores are used.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = ROOT  # not tests/, whose cuda/ package would shadow cuda.bindings

from tests.test_learning import METHODS, SPREAD_FILE, bar  # noqa: E402


def run_one(method, seed, threads, data_root, control):
    """One training in a subprocess; returns (Rank-1, mAP, chance mAP)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               FASTREID_DATASETS=data_root)
    code = ("import json, sys; from tests.test_learning import train_method; "
            "print('RESULT', json.dumps(train_method(sys.argv[1], int(sys.argv[2]), sys.argv[3], "
            "no_learning=sys.argv[4] == '1')))")
    with tempfile.TemporaryDirectory() as output_dir:
        out = subprocess.run([sys.executable, "-c", code, method, str(seed), output_dir, str(int(control))],
                             cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{method} seed {seed} threads {threads} failed:\n{out.stderr[-3000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def summary(record):
    rows = []
    for method, runs in record.items():
        trained = [r["mAP"] for r in runs["trained"]]
        rows.append([method, f"{statistics.fmean(trained):.1f} ± {statistics.stdev(trained):.1f}", len(trained),
                     min(trained), max(trained), max(r["mAP"] for r in runs["no_learning"]), bar(method),
                     runs["trained"][0]["chance"]])
    return tabulate(rows, headers=["method", "trained mAP", "runs", "worst", "best", "control's best", "bar",
                                   "chance"], tablefmt="pipe", floatfmt=".1f")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--control-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--output", default=SPREAD_FILE)
    parser.add_argument("--summary", action="store_true", help="print the table of --output and exit")
    args = parser.parse_args(argv)
    if args.summary:
        with open(args.output) as f:
            print(summary(json.load(f)))
        return

    from ctl_plugin.data.synthetic import generate_synthetic_mars
    record = {}
    if os.path.isfile(args.output):
        with open(args.output) as f:
            record = json.load(f)
    with tempfile.TemporaryDirectory() as data_root:
        generate_synthetic_mars(data_root)
        jobs = [(m, s, t, False) for t in args.threads for m in args.methods for s in args.seeds]
        jobs += [(m, s, 1, True) for m in args.methods for s in args.control_seeds]
        for threads in sorted({j[2] for j in jobs}):
            batch = [j for j in jobs if j[2] == threads]
            with ThreadPoolExecutor(max(1, 2 // threads)) as pool:
                results = list(pool.map(lambda j: (j, run_one(*j[:3], data_root, j[3])), batch))
            for (method, seed, t, control), res in results:
                entry = record.setdefault(method, {"trained": [], "no_learning": []})
                key = "no_learning" if control else "trained"
                entry[key] = [r for r in entry[key] if (r["seed"], r["threads"]) != (seed, t)]
                entry[key].append(dict(seed=seed, threads=t, **res))
                entry[key].sort(key=lambda r: (r["threads"], r["seed"]))
                print(method, key, seed, t, res, flush=True)
            with open(args.output, "w") as f:
                json.dump(record, f, indent=1)
                f.write("\n")
    print(summary(record))


if __name__ == "__main__":
    main()
