#!/usr/bin/env python
"""The CTL study: VideoBaseline and CTL's rows (Tables 3-4, tau, heat-map normalisation,
each fix of the plugin reverted) trained with several seeds on one synthetic set, under
one CPU budget; mean +- std of Rank-1 and mAP per row (docs/ctl_study.md). Two regimes:
"scratch" (OSNet x0.25 from random weights, configs/Study) and "pretrained" (the ImageNet
MobileNetV2 fine-tuned, configs/Study/Pretrained), each with its own rows.

    python tools/ctl_study.py                              # the study set, every row, seeds 0 1 2
    python tools/ctl_study.py --set tuning --seeds 0 --rows-file configs/Study/tuning.json
                                                           # the runs the defaults were chosen by
    python tools/ctl_study.py --regime pretrained --set tuning --seeds 0
    python tools/ctl_study.py --list                       # the rows and their keys
    python tools/ctl_study.py --rows "VideoBaseline" --plot curves.png   # and their mAP curves
    python tools/ctl_study.py --regime pretrained --seeds 0 1 2 3 --report  # the runs done so far; trains nothing

Both sets come from the project's generator with fixed seeds (48 training and 48 test
identities, occlusion on), and are written under --out on first use. Every run is a
`train_net.py` training (configs/Study/*.yml plus the row's keys, SEED = the seed) whose
results land in <out>/<set>/<row>/seed<k>/results.json; finished runs are not redone,
so the command resumes where it stopped. CTL runs also record the mAP of each fused
branch (g, a, c) as the test feature. Every row after the first is compared with the first
seed by seed: the mean +- std of its mAP minus the first row's, over the seeds both have.
The table is printed and written to <out>/<set>/results.md (<out>/pretrained/<set>/...
for the pretrained regime), with the mAP of every evaluation during training
(TEST.EVAL_PERIOD) in each run's record.
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import re
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from tabulate import tabulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "configs", "Study", "Baseline.yml")
CTL = os.path.join(ROOT, "configs", "Study", "CTL.yml")
PRETRAINED_BASELINE = os.path.join(ROOT, "configs", "Study", "Pretrained", "Baseline.yml")
PRETRAINED_CTL = os.path.join(ROOT, "configs", "Study", "Pretrained", "CTL.yml")
SETS = {"tuning": 1, "study": 2}  # generator seed of each set
SET_SIZE = dict(num_train_ids=48, num_test_ids=48, occlusion_rate=0.25)
# The plugin's fixes, as keys: reverting them all gives CTL as the paper's text reads
# before the choices it leaves open were measured.
BEFORE_FIXES = ["KEYPOINTS.SOFTMAX_TEMPERATURE", "1.0", "CTL.CROSS_SCALE.EMBEDDING_BN", "shared",
                "MODEL.LOSSES.TRI.NORM_FEAT", "False"]
ROWS = {  # name: (config, keys), in the order they are run
    "VideoBaseline": (BASELINE, []),
    "CTL (defaults: Basel+ContRe+3D+CS, A^p A^m A^c, tau 3)": (CTL, []),
    "CTL before the fixes": (CTL, BEFORE_FIXES),
    "fix reverted: heat-maps through the plain softmax (temperature 1)":
        (CTL, ["KEYPOINTS.SOFTMAX_TEMPERATURE", "1.0"]),
    "fix reverted: one BN for both scales of a CS-GCL": (CTL, ["CTL.CROSS_SCALE.EMBEDDING_BN", "shared"]),
    "fix reverted: triplet on raw features": (CTL, ["MODEL.LOSSES.TRI.NORM_FEAT", "False"]),
    "heat-maps divided by their sum": (CTL, ["KEYPOINTS.HEATMAP_NORM", "sum"]),
    "Table 3 Basel": (CTL, ["CTL.GCL.MODE", "none", "CTL.CROSS_SCALE.ENABLED", "False"]),
    "Table 3 Basel+ContRe": (CTL, ["CTL.GCL.MODE", "frame", "CTL.CROSS_SCALE.ENABLED", "False"]),
    "Table 3 Basel+ContRe+3D": (CTL, ["CTL.CROSS_SCALE.ENABLED", "False"]),
    "Table 4 A^p": (CTL, ["CTL.TOPOLOGY.MASK", "False", "CTL.TOPOLOGY.CONTEXT", "False"]),
    "Table 4 A^p A^m": (CTL, ["CTL.TOPOLOGY.CONTEXT", "False"]),
    "tau 1": (CTL, ["CTL.GCL.WINDOW", "1"]),
    "tau 5": (CTL, ["CTL.GCL.WINDOW", "5"]),
    "CTL, interleaved test clips": (CTL, ["VIDEO.TEST.MODE", "interleaved"]),
    "VideoBaseline, triplet on raw features": (BASELINE, ["MODEL.LOSSES.TRI.NORM_FEAT", "False"]),
    "VideoBaseline, interleaved test clips": (BASELINE, ["VIDEO.TEST.MODE", "interleaved"]),
    # the pretrained regime's initial states of the part terms, from scratch
    "CTL, part term through a BN whose weight starts at 0": (CTL, ["CTL.FUSION.PART_TERM", "zero_bn"]),
    "CTL, no part term (control: three heads on V_f^g)": (CTL, ["CTL.FUSION.PART_TERM", "none"]),
    "CTL, BN gate at 0 with gain 10": (CTL, ["CTL.FUSION.PART_TERM", "zero_bn", "CTL.FUSION.GATE_GAIN", "10.0"]),
    "CTL, part term x scalar initialised at 0": (CTL, ["CTL.FUSION.PART_TERM", "zero_scale"]),
    "CTL, mean over parts": (CTL, ["CTL.FUSION.PART_TERM", "mean"]),
}
FREEZE_WARM_UP = ["MODEL.FREEZE_LAYERS", "['backbone']", "SOLVER.FREEZE_ITERS", "48"]  # 4 epochs of 12 iterations
PRETRAINED_ROWS = {
    "VideoBaseline": (PRETRAINED_BASELINE, []),
    "CTL as shipped (part term: plain sum)": (PRETRAINED_CTL, []),
    "CTL, part term x scalar initialised at 0": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_scale"]),
    "CTL, part term through a BN whose weight starts at 0": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_bn"]),
    "CTL, mean over parts": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "mean"]),
    "Table 3 Basel+ContRe+3D, BN gate at 0": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_bn",
                                                               "CTL.CROSS_SCALE.ENABLED", "False"]),
    "CTL, no part term (control: three heads on V_f^g)": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "none"]),
    "CTL, BN weight at 0, heads lr x 10": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_bn",
                                                            "SOLVER.HEADS_LR_FACTOR", "10.0"]),
    "CTL, scalar at 0, heads lr x 10": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_scale",
                                                         "SOLVER.HEADS_LR_FACTOR", "10.0"]),
    "CTL, scalar at 0, backbone frozen for 4 epochs": (PRETRAINED_CTL, ["CTL.FUSION.PART_TERM", "zero_scale",
                                                                        *FREEZE_WARM_UP]),
    "CTL as shipped, backbone frozen for 4 epochs": (PRETRAINED_CTL, FREEZE_WARM_UP),
    "VideoBaseline, heads lr x 10": (PRETRAINED_BASELINE, ["SOLVER.HEADS_LR_FACTOR", "10.0"]),
    "VideoBaseline, backbone frozen for 4 epochs": (PRETRAINED_BASELINE, FREEZE_WARM_UP),
}
REGIMES = {  # name: (VideoBaseline's config, CTL's config, rows, results folder under --out)
    "scratch": (BASELINE, CTL, ROWS, ""),
    "pretrained": (PRETRAINED_BASELINE, PRETRAINED_CTL, PRETRAINED_ROWS, "pretrained"),
}


def slug(name):
    """A folder name for a row: readable, and unique by a hash of the whole name."""
    readable = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:48]
    return f"{readable}_{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def set_root(out, name):
    """The data root of a set, generated on first use."""
    from ctl_plugin.data.synthetic import generate_synthetic_mars

    root = os.path.join(out, "data", name)
    if not os.path.isdir(os.path.join(root, "synthetic-mars")):
        summary = generate_synthetic_mars(root, seed=SETS[name], **SET_SIZE)
        print(f"generated the {name} set under {root}: {summary.num_train_tracklets} training, "
              f"{summary.num_test_tracklets} test tracklets ({summary.seconds:.0f} s)")
    return root


def run_one(job):
    """Train and evaluate one (row, seed); writes results.json into its folder."""
    row, (config, keys), seed, data_root, run_dir, threads = job
    import torch

    torch.set_num_threads(threads)
    os.environ["FASTREID_DATASETS"] = data_root
    from ctl_plugin.engine import main

    from fastreid.engine import default_argument_parser

    args = default_argument_parser().parse_args(
        ["--config-file", config, *keys, "SEED", str(seed), "OUTPUT_DIR", run_dir])
    final = os.path.join(run_dir, "model_final.pth")
    if os.path.exists(final):  # trained, stopped before its results were written: evaluate it
        args.eval_only = True
        args.opts = [*args.opts, "MODEL.WEIGHTS", final]
    start = time.time()
    results = main(args)
    record = {"row": row, "seed": seed, "Rank-1": float(results["Rank-1"]), "mAP": float(results["mAP"]),
              "seconds": training_seconds(run_dir) or time.time() - start, "keys": keys}
    record["curve"] = evaluation_curve(run_dir, record["mAP"])
    if config in (CTL, PRETRAINED_CTL):
        record["branches"] = branch_maps(args, run_dir)
    tmp = os.path.join(run_dir, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1)
    os.replace(tmp, os.path.join(run_dir, "results.json"))
    return record


def training_seconds(run_dir):
    """The training time fast-reid logged in run_dir/log.txt ("Total training time: h:mm:ss"), or None."""
    try:
        with open(os.path.join(run_dir, "log.txt")) as f:
            found = re.findall(r"Total training time: (\d+):(\d+):(\d+)", f.read())
    except OSError:
        return None
    if not found:
        return None
    h, m, s = map(int, found[-1])
    return 3600 * h + 60 * m + s


def evaluation_curve(run_dir, final_map=None):
    """[[iterations trained, mAP], ...] of the evaluations during the training that fast-reid's
    metrics.json holds, then `final_map` (the record's own, evaluated after the last iteration
    that metrics.json logs) when given."""
    curve, last = [], None
    try:
        with open(os.path.join(run_dir, "metrics.json")) as f:
            for line in f:
                entry = json.loads(line)
                last = entry["iteration"] + 1
                if "mAP" in entry:
                    curve.append([last, float(entry["mAP"])])
    except OSError:
        pass
    if final_map is not None and last is not None and (not curve or curve[-1][0] < last):
        curve.append([last, float(final_map)])
    return curve


def branch_maps(args, run_dir):
    """mAP of the final model with each fused branch as the test feature."""
    from ctl_plugin.engine import VideoTrainer, setup
    from ctl_plugin.engine.checkpoint import load_model_weights
    from ctl_plugin.evaluation.ctl_diagnostics import branch_results

    if not args.eval_only:
        args.eval_only = True
        args.opts = [*args.opts, "MODEL.WEIGHTS", os.path.join(run_dir, "model_final.pth")]
    cfg = setup(args)
    cfg.defrost()
    cfg.MODEL.BACKBONE.PRETRAIN = False
    model = load_model_weights(VideoTrainer.build_model(cfg), cfg)
    return {b: float(r["mAP"]) for b, r in branch_results(cfg, model, VideoTrainer.test).items()}


def mean_std(values):
    return f"{statistics.fmean(values):.1f} ± {statistics.stdev(values) if len(values) > 1 else 0:.1f}"


def paired_difference(runs, reference):
    """mean +- std over the seeds both lists of records have of (run's mAP - reference's mAP), and
    how many seeds that is; "" when they share no seed."""
    base = {r["seed"]: r["mAP"] for r in reference}
    diffs = [r["mAP"] - base[r["seed"]] for r in runs if r["seed"] in base]
    return f"{mean_std(diffs)} ({len(diffs)})" if diffs else ""


def report(records, rows):
    table, first = [], None
    for row in rows:
        runs = [r for r in records if r["row"] == row]
        if not runs:
            continue
        first = first or runs
        branches = ""
        if all("branches" in r for r in runs):
            branches = " / ".join(f"{statistics.fmean(r['branches'][b] for r in runs):.1f}" for b in "gac")
        table.append([row, mean_std([r["Rank-1"] for r in runs]), mean_std([r["mAP"] for r in runs]),
                      branches, "" if runs is first else paired_difference(runs, first), len(runs),
                      f"{statistics.fmean(r['seconds'] for r in runs) / 60:.1f}"])
    return tabulate(table, headers=["row", "Rank-1", "mAP", "mAP of V_f^g / V_f^a / V_f^c",
                                    "mAP - first row's (seeds)", "seeds", "min/run"],
                    tablefmt="github", disable_numparse=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--regime", choices=sorted(REGIMES), default="scratch")
    p.add_argument("--set", choices=sorted(SETS), default="study")
    p.add_argument("--rows", nargs="+", metavar="ROW", help="row names (default: all; see --list)")
    p.add_argument("--rows-file", metavar="JSON",
                   help='rows of your own instead: {"name": ["baseline" or "ctl", ["KEY", "VALUE", ...]], ...}')
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (they share the CPU threads)")
    p.add_argument("--out", default=os.path.join(ROOT, "logs", "ctl_study"))
    p.add_argument("--list", action="store_true", help="print the rows and their keys, then exit")
    p.add_argument("--plot", metavar="PNG", help="draw the rows' mAP against training iterations")
    p.add_argument("--report", action="store_true", help="train nothing: report (and --plot) the runs already done")
    args = p.parse_args(argv)
    baseline, ctl, regime_rows, folder = REGIMES[args.regime]
    regime_rows = dict(regime_rows)
    if args.list:
        print(tabulate([[n, os.path.relpath(c, ROOT), " ".join(k)] for n, (c, k) in regime_rows.items()],
                       headers=["row", "config", "keys"]))
        return
    if args.rows_file:
        with open(args.rows_file) as f:
            own = {name: ({"baseline": baseline, "ctl": ctl}[model], list(map(str, keys)))
                   for name, (model, keys) in json.load(f).items()}
        regime_rows.update(own)
        rows = args.rows or list(own)
    else:
        rows = args.rows or list(regime_rows)
    unknown = [r for r in rows if r not in regime_rows]
    if unknown:
        p.error(f"unknown rows {unknown}; see --list")
    data_root = None if args.report else set_root(args.out, args.set)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    jobs, records, run_dirs = [], [], {}
    for row in rows:
        for seed in args.seeds:
            run_dir = run_dirs[row, seed] = os.path.join(args.out, folder, args.set, slug(row), f"seed{seed}")
            done = os.path.join(run_dir, "results.json")
            if os.path.exists(done):
                with open(done) as f:
                    records.append(json.load(f))
            elif not args.report:
                jobs.append((row, regime_rows[row], seed, data_root, run_dir, threads))
    total = len(records) + len(jobs)
    print(f"{len(records)} runs done, {len(jobs)} to run, {args.jobs} at a time")
    # one fresh process per run (its loader workers are its own children)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn"),
                             max_tasks_per_child=1) as pool:
        for record in (f.result() for f in as_completed([pool.submit(run_one, job) for job in jobs])):
            records.append(record)
            print(f"[{len(records)}/{total}] {record['row']} seed {record['seed']}: Rank-1 {record['Rank-1']:.1f}, "
                  f"mAP {record['mAP']:.1f} ({record['seconds'] / 60:.1f} min)", flush=True)
    table = report(records, rows)
    print(table)
    os.makedirs(os.path.join(args.out, folder, args.set), exist_ok=True)
    with open(os.path.join(args.out, folder, args.set, "results.md"), "w") as f:
        f.write(table + "\n")
    if args.plot:
        from ctl_plugin.visualization.map_curves import draw_map_curves

        curves = {row: [evaluation_curve(run_dirs[row, r["seed"]], r["mAP"]) for r in records if r["row"] == row]
                  for row in rows}
        draw_map_curves({row: c for row, c in curves.items() if c and all(c)}, args.plot,
                        f"{args.regime} regime, {args.set} set")
        print(f"curves drawn in {args.plot}")


if __name__ == "__main__":
    main()
