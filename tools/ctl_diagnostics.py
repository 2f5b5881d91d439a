#!/usr/bin/env python
"""Measure what a CTL model does with body parts, on any checkpoint.

    python tools/ctl_diagnostics.py --config-file configs/CTL_MARS.yml MODEL.WEIGHTS model_final.pth
    python tools/ctl_diagnostics.py --config-file configs/CTL_MARS.yml --init     # at initialisation

On `--batches` training batches of DATASETS.NAMES: the share of each heat-map's mass
within one feature cell of its key-point (against a uniform map's), the cosine
between Eq. 1's key-point features and V_g, and per fused branch (g, a, c) the
feature norm, the losses and the norm of their gradient on the backbone's feature
maps. Then Rank-1 and mAP on DATASETS.TESTS with each branch as the test feature
(skipped with --no-eval). Prints tables; `--json` writes the numbers.
"""
import argparse
import json
import statistics

from ctl_plugin.config import ConfigError, build_cfg
from ctl_plugin.data import build_video_train_loader
from ctl_plugin.engine import VideoTrainer
from ctl_plugin.engine.checkpoint import load_model_weights
from ctl_plugin.evaluation import ctl_diagnostics

from fastreid.utils.logger import setup_logger
from tabulate import tabulate


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config-file", required=True, metavar="FILE")
    p.add_argument("--batches", type=int, default=4, help="training batches measured (default 4)")
    p.add_argument("--init", action="store_true", help="measure the model at initialisation (no MODEL.WEIGHTS)")
    p.add_argument("--no-eval", action="store_true", help="skip the per-branch evaluation")
    p.add_argument("--json", metavar="FILE", help="also write the numbers to this file")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="config KEY VALUE pairs, e.g. MODEL.WEIGHTS")
    args = p.parse_args(argv)
    if args.batches < 1:
        p.error("--batches must be >= 1")
    return args


def mean_of(dicts):
    return {k: statistics.fmean(d[k] for d in dicts) for k in dicts[0]}


def diagnose(cfg, model, loader, num_batches, evaluate=True):
    """{"keypoints": {...}, "branches": {b: {...}}, "results": {b: {"Rank-1", "mAP"}}} of a CTL
    model, measured on `num_batches` batches of the training `loader`."""
    loader = iter(loader)
    batches = [next(loader) for _ in range(num_batches)]
    branches = [ctl_diagnostics.branch_statistics(model, b) for b in batches]
    report = {
        "keypoints": mean_of([ctl_diagnostics.keypoint_statistics(model, b) for b in batches])
        if cfg.KEYPOINTS.SOURCE == "cache" else {},
        "branches": {b: mean_of([s[b] for s in branches]) for b in branches[0]},
        "results": {},
    }
    if evaluate:
        results = ctl_diagnostics.branch_results(cfg, model, VideoTrainer.test)
        report["results"] = {b: {"Rank-1": r["Rank-1"], "mAP": r["mAP"]} for b, r in results.items()}
    return report


def print_report(report):
    if report["keypoints"]:
        print(tabulate(report["keypoints"].items(), headers=["key-points (Eq. 1)", "value"], floatfmt=".3f"))
    rows = [[b, *s.values()] for b, s in report["branches"].items()]
    print(tabulate(rows, headers=["branch", *next(iter(report["branches"].values()))], floatfmt=".3f"))
    if report["results"]:
        rows = [[b, r["Rank-1"], r["mAP"]] for b, r in report["results"].items()]
        print(tabulate(rows, headers=["test feature", "Rank-1", "mAP"], floatfmt=".1f"))


def main(argv=None):
    args = parse_args(argv)
    cfg = build_cfg(args.config_file, args.opts)
    if cfg.MODEL.META_ARCHITECTURE != "CTL":
        raise ConfigError(f"MODEL.META_ARCHITECTURE: the diagnostics measure CTL models, got "
                          f"{cfg.MODEL.META_ARCHITECTURE!r}")
    if cfg.MODEL.WEIGHTS and args.init:
        raise ConfigError("--init measures an untrained model: leave MODEL.WEIGHTS empty")
    setup_logger(name="fastreid")
    loader = build_video_train_loader(cfg)
    cfg.MODEL.HEADS.NUM_CLASSES = loader.dataset.num_classes  # nothing is written to OUTPUT_DIR
    if not args.init:
        cfg.MODEL.BACKBONE.PRETRAIN = False  # the checkpoint holds the backbone
    model = VideoTrainer.build_model(cfg)
    if not args.init:
        load_model_weights(model, cfg)
    report = diagnose(cfg, model, loader, args.batches, evaluate=not args.no_eval)
    print_report(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == "__main__":
    main()
